"""Face detection, landmarks, head pose, masks and aligned crops on real images."""
from __future__ import annotations

import numpy as np
import pytest

from dubkernels.analysis import AnalysisSettings, FaceAnalyzer
from dubkernels.colour import ColourSpaces
from dubkernels.errors import FaceError
from dubkernels.face.align import CROP_SIZE, CropTransform, template
from dubkernels.face.detect import FaceDetector
from dubkernels.face.landmarks68 import MOUTH, STABLE, interocular
from dubkernels.face.masks import face_mask, mouth_mask
from dubkernels.face.models import model_path
from dubkernels.face.pose import HeadPose, estimate_head_pose, project_mean_face
from tests.faces import astronaut_linear, photo_linear


@pytest.fixture(scope="module")
def colour():
    return ColourSpaces()


@pytest.fixture(scope="module")
def analyzer(colour):
    return FaceAnalyzer(AnalysisSettings(), colour)


def _analyze(analyzer, rgb):
    analyzer.previous = None
    return analyzer.analyze(rgb, 1)


def test_astronaut_landmarks_sit_on_her_face(analyzer, colour):
    rec = _analyze(analyzer, astronaut_linear(colour))
    assert rec.flag == "detected"
    lm = rec.landmarks
    # eyes above the nose tip above the mouth above the chin, all inside the box
    assert lm[36:48, 1].mean() < lm[30, 1] < lm[48:68, 1].mean() < lm[8, 1]
    x0, y0, x1, y1 = rec.box
    assert x0 - 5 < lm[30, 0] < x1 + 5 and y0 - 5 < lm[30, 1] < y1 + 5
    assert 30 < interocular(lm) < 60  # her face is about 90 px wide
    assert abs(rec.pose["yaw"]) < 20 and abs(rec.pose["roll"]) < 15


@pytest.mark.parametrize("name", ["lp_s1.jpg", "lp_s5.jpg", "lp_s12.jpg", "lp_s11.jpg"])
def test_photos_give_one_face_with_plausible_landmarks(analyzer, colour, name):
    rgb = photo_linear(name, colour)
    rec = _analyze(analyzer, rgb)
    assert rec.flag == "detected", name
    lm = rec.landmarks
    assert lm[36:42, 0].mean() < lm[42:48, 0].mean()  # subject's right eye on screen left
    assert lm[48:68, 1].mean() > lm[30, 1]
    assert np.all((lm >= 0) & (lm <= np.array(rgb.shape[1::-1])))


def test_dog_photo_has_no_face(analyzer, colour):
    rec = _analyze(analyzer, photo_linear("lp_s33.jpg", colour))
    assert rec.flag == "missing" and rec.landmarks is None


def test_cnn_detector_finds_the_astronaut(colour):
    analyzer = FaceAnalyzer(AnalysisSettings(detector="cnn", detect_size=256), colour)
    rec = _analyze(analyzer, astronaut_linear(colour))
    assert rec.flag == "detected"


def test_unknown_detector_and_missing_model_are_clear(tmp_path):
    with pytest.raises(FaceError, match="unknown detector"):
        FaceDetector("yolo")
    with pytest.raises(FaceError, match="not found"):
        model_path("x.dat", tmp_path / "x.dat")


def test_head_pose_recovers_a_known_pose():
    truth = HeadPose((0.1, -0.3, 0.05), (20.0, -10.0, 900.0), 0, 0, 0)
    points = project_mean_face(truth, 1920, 1080)
    pose = estimate_head_pose(points, 1920, 1080)
    assert np.allclose(pose.rvec, truth.rvec, atol=1e-3)
    assert np.allclose(pose.tvec, truth.tvec, rtol=1e-3)
    assert pose.yaw == pytest.approx(np.degrees(-0.3), abs=2.0)


def test_crop_inverse_is_exact(analyzer, colour):
    lm = _analyze(analyzer, astronaut_linear(colour)).landmarks
    crop = CropTransform.from_landmarks(lm)
    pts = np.random.default_rng(0).uniform(-500, 1500, (100, 2))
    assert np.max(np.abs(crop.to_plate(crop.to_crop(pts)) - pts)) < 1e-9
    full = np.vstack([crop.matrix, [0, 0, 1]]) @ np.vstack([crop.inverse_matrix, [0, 0, 1]])
    assert np.allclose(full, np.eye(3), atol=1e-12)
    # stable points land on the template; the mouth is free to move
    assert np.mean(np.linalg.norm(crop.to_crop(lm[list(STABLE)]) - template()[list(STABLE)], axis=1)) < 6.0
    assert crop.to_crop(lm[list(MOUTH)]).min() > 0 and crop.to_crop(lm[list(MOUTH)]).max() < CROP_SIZE


def test_crop_then_paste_back_reproduces_the_face(analyzer, colour):
    rgb = astronaut_linear(colour)
    lm = _analyze(analyzer, rgb).landmarks
    crop = CropTransform.from_landmarks(lm, size=512)  # upsampling crop: no detail lost
    back, coverage = crop.paste(crop.warp(rgb), rgb.shape[1], rgb.shape[0])
    inner = (face_mask(lm, grow=-0.2, feather=0.0).full(rgb.shape[1], rgb.shape[0]) > 0.99) & (coverage > 0.999)
    err = np.abs(back - rgb)[inner]
    assert inner.sum() > 2000 and err.mean() < 0.01


def test_crop_ignores_mouth_motion(analyzer, colour):
    lm = _analyze(analyzer, astronaut_linear(colour)).landmarks
    opened = lm.copy()
    opened[list(MOUTH[6:12]) + list(range(5, 12))] += (0, 15)  # lower lip and chin drop
    a, b = CropTransform.from_landmarks(lm), CropTransform.from_landmarks(opened)
    assert np.allclose(a.matrix, b.matrix)


def test_masks_follow_face_size(analyzer, colour):
    lm = _analyze(analyzer, astronaut_linear(colour)).landmarks
    small, big = mouth_mask(lm), mouth_mask(lm * 3.0)
    area_ratio = big.values.sum() / small.values.sum()
    assert 8.0 < area_ratio < 10.0  # the whole mask scales with the face (area x 9)
    m = mouth_mask(lm).full(512, 512)
    cx, cy = lm[list(MOUTH)].mean(axis=0).astype(int)
    assert m[cy, cx] > 0.99
    assert m[int(lm[37, 1]), int(lm[37, 0])] == 0.0  # the eye is never in the mouth mask
    assert (m > 0.01).sum() > 1.5 * (m > 0.99).sum()  # feathered edge
    f = face_mask(lm).full(512, 512)
    assert f[cy, cx] > 0.99 and f[int(lm[37, 1]), int(lm[37, 0])] > 0.99 and f[5, 5] == 0.0
