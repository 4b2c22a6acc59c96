"""Training data: aligned crops and masks, the crop cache, the pair dataset and its loader."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import dubkernels.train.prepare as prepare
from dubkernels.errors import DubKernelsError, TrackError
from dubkernels.face.align import CropTransform, template
from dubkernels.face.landmarks68 import OUTER_LIPS, STABLE
from dubkernels.io.frames import read_frame, write_frame
from dubkernels.io.sequences import resolve_sequence
from dubkernels.stages.common import face_layer
from dubkernels.tracks import Track, file_digest, load_track, save_track
from dubkernels.train.datasets import PairDataset, make_loader
from dubkernels.train.prepare import CropSet, FaceClip, extract_crops, load_or_extract
from tests.stage_data import Shot, make_shot

SIZE = 64
FRAMES = 4


@pytest.fixture(scope="module")
def shot(tmp_path_factory) -> Shot:
    return make_shot(tmp_path_factory.mktemp("shot"), frames=FRAMES)


@pytest.fixture(scope="module")
def actor(shot) -> CropSet:
    return extract_crops(FaceClip(shot.actor, shot.actor_track, "actor"), SIZE)


@pytest.fixture(scope="module")
def dubber(shot) -> CropSet:
    return extract_crops(FaceClip(shot.dubber, shot.dubber_track, "dubber"), SIZE)


def _centroid(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.indices(mask.shape)
    w = mask.astype(np.float64)
    return np.array([(xs * w).sum(), (ys * w).sum()]) / w.sum()


def test_crops_have_shapes_and_dtypes(actor, shot):
    assert actor.images.shape == (FRAMES, SIZE, SIZE, 3) and actor.images.dtype == np.uint8
    assert actor.face_masks.shape == actor.mouth_masks.shape == (FRAMES, SIZE, SIZE)
    assert actor.face_masks.dtype == actor.mouth_masks.dtype == np.uint8
    assert actor.frames == shot.frames and actor.role == "actor" and actor.size == SIZE
    assert actor.images.mean() > 30  # a lit face, not black


def test_mouth_mask_sits_on_the_lips_inside_the_face(actor, shot):
    track = load_track(shot.actor_track)
    for i, frame in enumerate(actor.frames):
        landmarks = track.record(frame).landmarks
        lips = CropTransform.from_landmarks(landmarks, SIZE).to_crop(landmarks[list(OUTER_LIPS)])
        mouth, face = actor.mouth_masks[i], actor.face_masks[i]
        assert np.linalg.norm(_centroid(mouth) - lips.mean(axis=0)) < 2.0
        assert (mouth <= face).all() and (face[mouth > 128] > 200).all()


def test_crop_follows_the_stable_landmarks_not_the_mouth(shot):
    track = load_track(shot.actor_track)
    target = template(SIZE)[list(STABLE)]
    for record in track.records:
        placed = CropTransform.from_landmarks(record.landmarks, SIZE).to_crop(record.landmarks[list(STABLE)])
        assert np.abs(placed - target).max() < 3.0


def test_cache_round_trip_and_no_reread(shot, actor, tmp_path, monkeypatch):
    actor.save(tmp_path / "a.npz")
    back = CropSet.load(tmp_path / "a.npz")
    for key in ("images", "face_masks", "mouth_masks"):
        np.testing.assert_array_equal(getattr(back, key), getattr(actor, key))
    assert back.frames == actor.frames and back.role == actor.role
    clip = FaceClip(shot.actor, shot.actor_track, "actor")
    first = load_or_extract(clip, SIZE, tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1

    def refuse(*_args, **_kwargs):
        raise AssertionError("frames were read again")

    monkeypatch.setattr(prepare, "read_region", refuse)
    totals, steps = [], []
    second = load_or_extract(clip, SIZE, tmp_path / "cache", progress=steps.append, on_total=totals.append)
    np.testing.assert_array_equal(second.images, first.images)
    assert totals == [len(first)] and sum(steps) == len(first)  # a cache hit fills the progress bar too
    with pytest.raises(AssertionError):  # another size is another cache entry
        load_or_extract(clip, SIZE * 2, tmp_path / "cache")


def test_damaged_cache_is_a_clear_error(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(DubKernelsError, match="bad.npz"):
        CropSet.load(tmp_path / "bad.npz")


def _copy_track(shot: Shot, pattern: str, frames: list[int], path: Path) -> str:
    """The actor's track records for ``frames``, re-pointed at the sequence ``pattern``."""
    source = load_track(shot.actor_track)
    sequence = resolve_sequence(pattern, frames)
    records = [source.record(f) for f in frames]
    for r in records:
        r.digest = file_digest(sequence.path(r.frame))
    save_track(Track(pattern, source.width, source.height, records), path)
    return str(path)


def test_render_face_mask_is_limited_by_alpha(shot, actor, tmp_path):
    frames = shot.frames[:2]
    track = load_track(shot.actor_track)
    pattern = str(tmp_path / "render" / "render.####.exr")
    for f in frames:
        plate = read_frame(resolve_sequence(shot.actor, [f]).path(f))
        rgb = plate.display_rgb()
        nose_x = int(track.record(f).landmarks[30, 0])
        alpha = np.zeros(rgb.shape[:2], np.float32)
        alpha[:, :nose_x] = 1.0  # only the screen-left half of the face was rendered
        rgba = np.dstack([rgb * alpha[..., None], alpha])
        write_frame(pattern.replace("####", f"{f:04d}"), face_layer(rgba, (0, 0), plate.display_window))
    assert read_frame(pattern.replace("####", f"{frames[0]:04d}")).data_window != plate.display_window
    clip = FaceClip(pattern, _copy_track(shot, pattern, frames, tmp_path / "render.track.json"), "actor_render")
    render = extract_crops(clip, SIZE)
    assert render.frames == frames
    for i, f in enumerate(frames):
        landmarks = track.record(f).landmarks
        crop = CropTransform.from_landmarks(landmarks, SIZE)
        grid = np.stack(np.meshgrid(np.arange(SIZE), np.arange(SIZE)), axis=-1).astype(np.float64)
        cut = landmarks[30, 0] + 3.0 / crop.scale  # 3 crop pixels beyond the alpha edge
        right = crop.to_plate(grid.reshape(-1, 2))[:, 0].reshape(SIZE, SIZE) > cut
        assert render.face_masks[i][right].max() == 0 and actor.face_masks[i][right].max() == 255
        assert render.images[i][right].max() == 0
        assert (render.face_masks[i].astype(int) <= actor.face_masks[i].astype(int) + 1).all()
        assert render.face_masks[i].max() == 255


def test_missing_frames_are_skipped(shot, tmp_path):
    track = load_track(shot.actor_track)
    track.records[1].flag = "missing"  # landmarks kept: the flag alone must exclude it
    path = tmp_path / "flagged.track.json"
    save_track(track, path)
    totals, steps = [], []
    crops = extract_crops(FaceClip(shot.actor, str(path), "actor"), SIZE, progress=steps.append,
                          on_total=totals.append)
    assert crops.frames == [f for f in shot.frames if f != shot.frames[1]]
    assert totals == [len(crops.frames)] and sum(steps) == len(crops.frames)  # the progress bar's total is right
    assert extract_crops(FaceClip(shot.actor, str(path), "actor"), SIZE, frames=shot.frames[:2]).frames == shot.frames[:1]


def test_clip_without_faces_is_a_clear_error(shot, tmp_path):
    track = load_track(shot.actor_track)
    for r in track.records:
        r.flag, r.landmarks = "missing", None
    path = tmp_path / "empty.track.json"
    save_track(track, path)
    with pytest.raises(TrackError, match="empty.track.json.*no frame"):
        extract_crops(FaceClip(shot.actor, str(path), "actor"), SIZE)
    with pytest.raises(DubKernelsError, match="role"):
        FaceClip(shot.actor, str(path), "plate")


KEYS = ("actor", "actor_face_mask", "actor_mouth_mask", "dubber", "dubber_face_mask", "dubber_mouth_mask")


def test_pair_items(actor, dubber):
    dataset = PairDataset([actor], [dubber], seed=3)
    assert len(dataset) == FRAMES
    item = dataset[1]
    assert set(item) == set(KEYS)
    for key in KEYS:
        channels = 3 if key in ("actor", "dubber") else 1
        assert item[key].shape == (channels, SIZE, SIZE) and item[key].dtype == torch.float32
        assert 0.0 <= float(item[key].min()) and float(item[key].max()) <= 1.0
    plain = PairDataset([actor], [dubber], seed=3, augment=False)[2]
    np.testing.assert_array_equal(plain["actor"].numpy(), actor.images[2].transpose(2, 0, 1) / np.float32(255))
    with pytest.raises(DubKernelsError, match="dubber side"):
        PairDataset([actor], [actor])


def test_augmentation_is_deterministic_per_epoch(actor, dubber):
    one, two = PairDataset([actor], [dubber], seed=7), PairDataset([actor], [dubber], seed=7)
    for key in KEYS:
        assert torch.equal(one[2][key], two[2][key])
    before = one[2]
    one.set_epoch(1)
    assert not torch.equal(one[2]["actor"], before["actor"])
    two.set_epoch(1)
    assert torch.equal(one[2]["actor_face_mask"], two[2]["actor_face_mask"])
    perms = set()
    for epoch in range(6):
        one.set_epoch(epoch)
        perms.add(tuple(one.dubber_permutation().tolist()))
    assert len(perms) > 1 and all(sorted(p) == list(range(FRAMES)) for p in perms)


def _epochs(loader, dataset: PairDataset, epochs: int) -> list[torch.Tensor]:
    out = []
    for epoch in range(epochs):
        dataset.set_epoch(epoch)
        out.extend(batch["dubber"] for batch in loader)
    return out


def test_loader_batches_reach_persistent_workers_per_epoch(actor, dubber):
    serial = PairDataset([actor], [dubber], seed=1)
    expected = _epochs(make_loader(serial, batch_size=3, workers=0, seed=5), serial, 2)
    assert len(expected) == 2 and expected[0].shape == (3, 3, SIZE, SIZE)  # drop_last: 4 samples -> 1 batch
    parallel = PairDataset([actor], [dubber], seed=1)
    loader = make_loader(parallel, batch_size=3, workers=2, seed=5)
    assert loader.persistent_workers
    got = _epochs(loader, parallel, 2)
    assert all(torch.equal(a, b) for a, b in zip(got, expected))
    assert not torch.equal(expected[0], expected[1])
    with pytest.raises(DubKernelsError, match="batch"):
        make_loader(serial, batch_size=FRAMES + 1, workers=0, seed=0)
