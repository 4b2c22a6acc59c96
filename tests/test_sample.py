"""The synthetic sample shot: files and metadata, mouth motion, truth landmarks, dlib re-detection."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from dubkernels.cli import sample as sample_cli
from dubkernels.colour import ColourSpaces, to_uint8
from dubkernels.errors import DubKernelsError
from dubkernels.face.detect import FaceDetector, to_gray
from dubkernels.face.landmarks68 import JAW, MOUTH, OUTER_LIPS, interocular
from dubkernels.io.frames import PROVENANCE_ATTRIBUTE, read_frame
from dubkernels.sample import (
    ACTOR,
    DUBBER,
    TRUTH_FORMAT,
    Pose,
    SampleRenderer,
    load_face,
    make_sample,
    take_pose,
)

FRAMES = 6
START = 1001
SIZE = 512
TAKES = (ACTOR, DUBBER)
MOVING = set(MOUTH + JAW)
MAX_MEAN_ERROR_IOD = 0.1


@pytest.fixture(scope="module")
def colour() -> ColourSpaces:
    return ColourSpaces()


@pytest.fixture(scope="module")
def face(colour):
    return load_face(SIZE, colour)


@pytest.fixture(scope="module")
def shot(tmp_path_factory, colour):
    return make_sample(tmp_path_factory.mktemp("sample"), frames=FRAMES, start=START, colour=colour)


@pytest.fixture(scope="module")
def truth(shot) -> dict:
    return json.loads(shot.truth.read_text())


def _frame_path(pattern: str, number: int) -> str:
    return pattern.replace("####", f"{number:04d}")


def _pattern(shot, name: str) -> str:
    return shot.actor if name == "actor" else shot.dubber


def test_writes_numbered_half_acescg_frames_and_truth(shot, truth, colour):
    numbers = list(range(START, START + FRAMES))
    assert shot.frames == numbers
    for take in TAKES:
        pattern = _pattern(shot, take.name)
        assert pattern == str(shot.outdir / take.name / f"{take.name}.####.exr")
        names = sorted(p.name for p in Path(pattern).parent.iterdir())
        assert names == [f"{take.name}.{n:04d}.exr" for n in numbers]
        frame = read_frame(_frame_path(pattern, START))
        assert frame.pixels.dtype == np.float16
        assert frame.channel_names == ("R", "G", "B")
        assert (frame.data_window.width, frame.data_window.height) == (SIZE, SIZE)
        assert colour.resolve(frame.spec.get_string_attribute("oiio:ColorSpace")) == colour.working == "ACEScg"
        assert tuple(frame.spec.getattribute("FramesPerSecond")) == (25, 1)
        provenance = json.loads(frame.spec.get_string_attribute(PROVENANCE_ATTRIBUTE))
        assert (provenance["stage"], provenance["take"]) == ("sample", take.name)
        record = truth[take.name]
        assert record["frames"] == numbers and len(record["mouth_open"]) == FRAMES
        assert sorted(record["landmarks"]) == [str(n) for n in numbers]
        assert np.array(record["landmarks"][str(START)]).shape == (68, 2)
    assert (truth["format"], truth["version"], truth["fps"]) == (TRUTH_FORMAT, 1, 25)


def test_dubber_is_reposed_relit_and_colour_shifted(shot, truth):
    actor = read_frame(_frame_path(shot.actor, START)).rgb()
    dubber = read_frame(_frame_path(shot.dubber, START)).rgb()
    assert np.abs(actor - dubber).mean() > 0.02
    actor_iod = interocular(np.array(truth["actor"]["landmarks"][str(START)]))
    dubber_iod = interocular(np.array(truth["dubber"]["landmarks"][str(START)]))
    assert 0.85 < dubber_iod / actor_iod < 0.95
    ratio = dubber.reshape(-1, 3).mean(axis=0) / actor.reshape(-1, 3).mean(axis=0)
    assert ratio[0] > ratio[1] > ratio[2]  # warmer: gains (1.08, 0.97, 0.90)


def test_mouth_opens_and_nothing_above_the_upper_lip_moves(face, colour):
    renderer = SampleRenderer(face, colour)
    pose = Pose(angle_deg=1.5, scale=1.01, tx=3.0, ty=-2.0)
    closed, closed_points = renderer.render(0.0, pose)
    opened, opened_points = renderer.render(1.0, pose)
    inverse = cv2.invertAffineTransform(pose.matrix(face.centre))
    ys, xs = np.mgrid[0:SIZE, 0:SIZE]
    source_y = inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]
    above = source_y < face.landmarks[list(OUTER_LIPS), 1].min() - 3.0
    assert np.array_equal(closed[above], opened[above])
    x0, y0 = closed_points[list(MOUTH)].min(axis=0).astype(int)
    x1, y1 = opened_points[list(MOUTH)].max(axis=0).astype(int)
    assert np.abs(closed[y0:y1, x0:x1] - opened[y0:y1, x0:x1]).mean() > 0.05
    still = [i for i in range(68) if i not in MOVING]
    assert np.allclose(closed_points[still], opened_points[still])


def test_truth_mouth_opening_follows_the_curve_and_the_rest_follows_the_head(shot, truth, face):
    still = [i for i in range(68) if i not in MOVING]
    for take in TAKES:
        record = truth[take.name]
        points = [np.array(record["landmarks"][str(n)]) for n in shot.frames]
        gaps = [np.linalg.norm(p[66] - p[62]) for p in points]
        assert np.corrcoef(gaps, record["mouth_open"])[0, 1] > 0.9
        for index, p in enumerate(points):
            matrix = take_pose(take, index, SIZE).matrix(face.centre)
            expected = face.landmarks[still] @ matrix[:, :2].T + matrix[:, 2]
            assert np.abs(p[still] - expected).max() < 1e-2


def test_dlib_finds_the_face_and_truth_landmarks_in_every_frame(shot, truth, colour):
    detector = FaceDetector()
    for take in TAKES:
        errors = []
        for number in shot.frames:
            linear = read_frame(_frame_path(_pattern(shot, take.name), number)).rgb()
            gray = to_gray(to_uint8(colour.to_network(linear)))
            found = detector.detect(gray)
            assert found, f"{take.name} frame {number}: no face"
            expected = np.array(truth[take.name]["landmarks"][str(number)])
            got = detector.landmarks(gray, found[0].box)
            errors.append(np.linalg.norm(got - expected, axis=1)[list(MOUTH)].mean() / interocular(expected))
        assert np.mean(errors) < MAX_MEAN_ERROR_IOD, (take.name, errors)


def test_cli_writes_the_shot_and_replaces_stale_frames(tmp_path, capsys):
    stale = tmp_path / "actor" / "actor.0999.exr"
    stale.parent.mkdir()
    stale.write_bytes(b"")
    parser = argparse.ArgumentParser()
    sample_cli.register(parser.add_subparsers())
    args = parser.parse_args(["sample", str(tmp_path), "--frames", "7-8"])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "dubber" / "dubber.####.exr") in out and "sample_truth.json" in out
    assert sorted(p.name for p in (tmp_path / "actor").iterdir()) == ["actor.0007.exr", "actor.0008.exr"]


@pytest.mark.parametrize("kwargs", [{"frames": 0}, {"size": 256}])
def test_rejects_unusable_settings(tmp_path, kwargs):
    with pytest.raises(DubKernelsError):
        make_sample(tmp_path, **kwargs)
    assert not any(tmp_path.iterdir())
