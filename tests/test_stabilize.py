"""LandmarkStabilize: the 1 Euro filter, the smoothing maths on a known track, and the stage on real EXRs."""
from __future__ import annotations

import copy
import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest

from dubkernels.analysis import analyze_sequence
from dubkernels.errors import DubKernelsError
from dubkernels.face.landmarks68 import STABLE
from dubkernels.face.masks import face_mask
from dubkernels.face.one_euro import OneEuroFilter, smoothing_factor
from dubkernels.io.frames import Frame, Window, read_frame, write_frame
from dubkernels.io.sequences import resolve_sequence
from dubkernels.sample import astronaut_landmarks, make_sample
from dubkernels.stages.base import run_stage
from dubkernels.stages.common import face_layer
from dubkernels.jobs.spec import Job
from dubkernels.stages.stabilize import (
    LandmarkStabilize,
    apply_matrices,
    jitter,
    similarities,
    smooth_landmarks,
    target_region,
    warp_rgba,
)
from dubkernels.jobs.params import StabilizeParams as Params
from dubkernels.tracks import Track, file_digest, load_track, save_track

FPS = 25.0
FRAMES = list(range(1001, 1007))


# ---------------------------------------------------------------- the filter and the maths


def test_one_euro_filter_follows_the_casiez_formulas():
    assert smoothing_factor(0.04, 1.0) == pytest.approx(1.0 / (1.0 + 1.0 / (2 * math.pi) / 0.04))
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    assert np.array_equal(f(np.full((68, 2), 3.0), 0.0), np.full((68, 2), 3.0))  # the first sample passes
    step = [float(f(np.full((68, 2), 4.0), t / FPS)[0, 0]) for t in range(1, 20)]
    assert all(3.0 < a < b < 4.0 for a, b in zip(step, step[1:]))  # a smooth, monotonic approach
    assert step[0] == pytest.approx(3.0 + smoothing_factor(1 / FPS, 1.0))
    with pytest.raises(ValueError, match="increase"):
        f(np.zeros((68, 2)), 0.0)
    with pytest.raises(ValueError, match="min_cutoff > 0"):
        OneEuroFilter(min_cutoff=0.0)


def _similarity(points: np.ndarray, degrees: float, scale: float, shift: np.ndarray, centre: np.ndarray) -> np.ndarray:
    c, s = math.cos(math.radians(degrees)) * scale, math.sin(math.radians(degrees)) * scale
    return (points - centre) @ np.array([[c, -s], [s, c]]).T + centre + shift


def _jittered_track(rng: np.random.Generator, count: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Truth: the astronaut's landmarks swaying smoothly; raw: each frame shaken by a small random
    similarity (the reenactment's wobble) plus 0.2 px of independent landmark noise."""
    base = np.array(astronaut_landmarks())
    centre = base.mean(axis=0)
    times = np.arange(count) / FPS
    truth = np.stack([_similarity(base, 2.0 * math.sin(2 * math.pi * 0.3 * t), 1.0,
                                  np.array([5.0 * math.sin(2 * math.pi * 0.4 * t), 3.0 * math.cos(2 * math.pi * 0.25 * t)]),
                                  centre) for t in times])
    raw = np.stack([_similarity(p, rng.normal(0, 0.3), 1.0 + rng.normal(0, 0.005), rng.normal(0, 1.0, 2), centre)
                    for p in truth])
    return truth, raw + rng.normal(0, 0.2, raw.shape)


def _error(points: np.ndarray, truth: np.ndarray) -> float:
    return float(np.linalg.norm(points - truth, axis=-1)[:, list(STABLE)].mean())


def test_smoothing_brings_a_jittered_track_closer_to_the_truth(rng):
    truth, raw = _jittered_track(rng)
    times = np.arange(len(raw)) / FPS
    smoothed = smooth_landmarks(raw, times, Params())
    matrices, failed = similarities(raw, smoothed)
    moved = apply_matrices(matrices, raw)
    assert not failed
    assert _error(smoothed, truth) < 0.5 * _error(raw, truth)
    assert _error(moved, truth) < 0.6 * _error(raw, truth)
    assert jitter(moved) < jitter(raw) / 3
    assert jitter(truth) < 0.1 * jitter(raw)
    causal = smooth_landmarks(raw, times, Params(zero_lag=False))
    assert _error(smoothed, truth) < 0.7 * _error(causal, truth)  # the causal filter trails the head


def test_frames_without_a_face_restart_the_filter(rng):
    _, raw = _jittered_track(rng, 30)
    times = np.arange(30) / FPS
    gapped = raw.copy()
    gapped[10:12] = np.nan
    smoothed = smooth_landmarks(gapped, times, Params())
    assert np.isnan(smoothed[10:12]).all() and np.isfinite(smoothed[:10]).all() and np.isfinite(smoothed[12:]).all()
    alone = smooth_landmarks(raw[12:], times[12:], Params())
    assert np.allclose(smoothed[12:], alone, atol=0.05)  # the run after the gap owes nothing to the one before
    matrices, _ = similarities(gapped, smoothed)
    assert np.isnan(matrices[10:12]).all()
    assert jitter(gapped) > 0 and jitter(np.full((2, 68, 2), 1.0)) == 0.0


def test_warp_moves_premultiplied_rgba_exactly():
    rgba = np.zeros((20, 30, 4), np.float32)
    rgba[5:15, 8:20] = (0.2, 0.4, 0.6, 1.0)
    shift = np.array([[1.0, 0.0, 7.0], [0.0, 1.0, -3.0]])
    data, display = Window(100, 50, 30, 20), Window(0, 0, 400, 300)
    region = target_region(data, shift, display)
    assert (region.x, region.y, region.x_end, region.y_end) == (104, 44, 140, 70)
    out = warp_rgba(rgba, (data.x, data.y), shift, region)
    placed = np.zeros((300, 400, 4), np.float32)
    placed[50 + -3 : 70 - 3, 100 + 7 : 130 + 7] = rgba  # an integer shift is exact with a cubic kernel
    assert np.array_equal(out, placed[region.y : region.y_end, region.x : region.x_end])
    assert target_region(data, shift + [[0, 0, 1000], [0, 0, 0]], display) == Window(0, 0, 1, 1)  # off screen


# ---------------------------------------------------------------- the stage on EXRs


def _face_layers(shot, folder: Path) -> str:
    """Crop the sample actor to premultiplied face layers (face mask from the true landmarks)."""
    truth = json.loads(shot.truth.read_text())["actor"]["landmarks"]
    pattern = folder / "face.####.exr"
    for f in shot.frames:
        plate = read_frame(shot.actor.replace("####", f"{f:04d}"))
        mask = face_mask(np.array(truth[str(f)]))
        w, disp = mask.window, plate.display_window
        x0, y0, x1, y1 = max(w.x, 0), max(w.y, 0), min(w.x_end, disp.width), min(w.y_end, disp.height)
        alpha = mask.values[y0 - w.y : y1 - w.y, x0 - w.x : x1 - w.x, None]
        layer = face_layer(np.concatenate([plate.rgb()[y0:y1, x0:x1] * alpha, alpha], axis=-1), (x0, y0), disp)
        for attribute in plate.spec.extra_attribs:
            layer.spec.attribute(attribute.name, attribute.type, attribute.value)
        write_frame(str(pattern).replace("####", f"{f:04d}"), layer)
    return str(pattern)


@pytest.fixture(scope="module")
def layers(tmp_path_factory) -> tuple[str, str, Track]:
    """A 6-frame face-layer sequence and its track: (face pattern, track path, track)."""
    root = tmp_path_factory.mktemp("stabilize")
    face = _face_layers(make_sample(root / "sample", frames=len(FRAMES), start=FRAMES[0]), root / "face")
    track = analyze_sequence(resolve_sequence(face))
    save_track(track, root / "face.track.json")
    return face, str(root / "face.track.json"), track


def _job(layers, out: Path, frames: str | None = None, track: str | None = None, **params) -> Job:
    return Job("stabilize", {"face": layers[0], "face_track": track or layers[1]},
               {"out": str(out / "stab.####.exr")}, frames, params)


def _frame(folder: Path, f: int) -> Frame:
    return read_frame(folder / f"stab.{f:04d}.exr")


def _alpha_centroid(frame: Frame) -> np.ndarray:
    alpha = frame.pixels[..., 3].astype(np.float64)
    ys, xs = np.indices(alpha.shape)
    dw = frame.data_window
    return np.array([(xs * alpha).sum() + dw.x * alpha.sum(), (ys * alpha).sum() + dw.y * alpha.sum()]) / alpha.sum()


def test_stage_moves_each_face_layer_by_its_similarity(layers, tmp_path):
    stage = LandmarkStabilize(_job(layers, tmp_path))
    summary = run_stage(stage, workers=1)
    assert summary.done == FRAMES
    assert any("jitter" in n for n in summary.notes) and not any("fps" in n for n in summary.notes)
    for f in FRAMES:
        src, out = read_frame(layers[0].replace("####", f"{f:04d}")), _frame(tmp_path, f)
        assert out.channel_names == ("R", "G", "B", "A")
        dw, disp = out.data_window, out.display_window
        assert disp == src.display_window
        assert disp.x <= dw.x and disp.y <= dw.y and dw.x_end <= disp.x_end and dw.y_end <= disp.y_end
        matrix = stage.transforms[f]
        expected = matrix[:, :2] @ _alpha_centroid(src) + matrix[:, 2]
        assert np.abs(_alpha_centroid(out) - expected).max() < 0.05
        assert 0.0 <= out.pixels[..., 3].min() and out.pixels[..., 3].max() <= 1.0
        assert out.spec.get_float_attribute("FramesPerSecond", 0.0) == FPS  # the source's metadata is kept
    assert max(np.abs(m[:, 2]).max() for m in stage.transforms.values()) > 0.05  # it did move something
    assert pickle.loads(pickle.dumps(stage)).transforms.keys() == stage.transforms.keys()  # workers get it


def test_chunked_runs_match_a_whole_run_bit_for_bit(layers, tmp_path):
    run_stage(LandmarkStabilize(_job(layers, tmp_path / "whole")), workers=1)
    for chunk in ("1001-1003", "1004-1006"):
        run_stage(LandmarkStabilize(_job(layers, tmp_path / "chunks", chunk)), workers=1)
    for f in FRAMES:
        whole, chunked = _frame(tmp_path / "whole", f), _frame(tmp_path / "chunks", f)
        assert whole.data_window == chunked.data_window
        assert np.array_equal(whole.pixels.view(np.uint16), chunked.pixels.view(np.uint16))


def test_a_second_run_resumes_and_force_renders_again(layers, tmp_path):
    run_stage(LandmarkStabilize(_job(layers, tmp_path)), workers=1)
    again = run_stage(LandmarkStabilize(_job(layers, tmp_path)), workers=1)
    assert again.skipped == FRAMES and again.done == []
    forced = run_stage(LandmarkStabilize(_job(layers, tmp_path)), workers=1, force=True)
    assert forced.done == FRAMES and forced.skipped == []
    other = run_stage(LandmarkStabilize(_job(layers, tmp_path, beta=1.0)), workers=1)
    assert other.done == FRAMES  # other settings are another job: nothing is reused


def test_frames_without_a_face_pass_through_unchanged(layers, tmp_path):
    track = copy.deepcopy(layers[2])
    record = track.record(1003)
    record.flag, record.landmarks, record.box, record.pose = "missing", None, None, None
    save_track(track, tmp_path / "gap.track.json")
    stage = LandmarkStabilize(_job(layers, tmp_path, track=str(tmp_path / "gap.track.json")))
    summary = run_stage(stage, workers=1)
    assert any("1003: no face" in n for n in summary.notes)
    src, out = read_frame(layers[0].replace("####", "1003")), _frame(tmp_path, 1003)
    assert out.data_window == src.data_window
    assert np.array_equal(out.pixels.view(np.uint16), src.pixels.view(np.uint16))
    assert 1003 not in stage.transforms and 1004 in stage.transforms


def test_a_track_that_misses_face_frames_is_a_clear_error(layers, tmp_path):
    full = load_track(layers[1])
    short = Track(full.source, full.width, full.height, full.records[:4], full.settings)
    save_track(short, tmp_path / "short.track.json")
    stage = LandmarkStabilize(_job(layers, tmp_path, track=str(tmp_path / "short.track.json")))
    with pytest.raises(DubKernelsError, match=r"face_track: .* has no frames 1005-1006 .*analyze"):
        run_stage(stage, workers=1)
    with pytest.raises(DubKernelsError, match="face_track: track file .*not found"):
        run_stage(LandmarkStabilize(_job(layers, tmp_path, track=str(tmp_path / "none.json"))), workers=1)


@pytest.mark.parametrize("params, message", [
    ({"min_cutoff": 0}, "min_cutoff=0.0 is out of range; use 1e-06 to"),
    ({"d_cutoff": -1}, "d_cutoff=-1.0 is out of range"),
    ({"beta": -0.1}, "beta=-0.1 is out of range; use 0.0 to"),
    ({"fps": -24}, "fps=-24.0 is out of range; use 0.0 to"),
    ({"min_cutoff": "fast"}, "min_cutoff='fast' should be a float"),
    ({"smooth": 5}, r"unknown parameters \['smooth'\]"),
])
def test_bad_parameters_are_refused(layers, tmp_path, params, message):
    with pytest.raises(DubKernelsError, match=message):
        LandmarkStabilize(_job(layers, tmp_path, **params))


def test_a_face_layer_without_alpha_is_refused(layers, tmp_path, write_sequence):
    rgb = write_sequence(frames=FRAMES, size=(512, 512), name="rgb")
    track = load_track(layers[1])
    assert track.width == 512
    for record in track.records:  # the track's landmarks, with the digests of these RGB frames
        record.digest = file_digest(rgb.replace("####", f"{record.frame:04d}"))
    save_track(track, tmp_path / "rgb.track.json")
    job = Job("stabilize", {"face": rgb, "face_track": str(tmp_path / "rgb.track.json")},
              {"out": str(tmp_path / "o.####.exr")})
    with pytest.raises(DubKernelsError, match=r"face: .*rgb\.1001\.exr has channels \('R', 'G', 'B'\); .*needs"):
        run_stage(LandmarkStabilize(job), workers=1)
