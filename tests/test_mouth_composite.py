"""MouthComposite on a synthetic shot: only the mouth changes, bit for bit everywhere else."""
from __future__ import annotations

import dataclasses
import logging
import pickle
from pathlib import Path

import numpy as np
import pytest

from dubkernels.analysis import analyze_sequence
from dubkernels.errors import DubKernelsError
from dubkernels.face.masks import face_mask
from dubkernels.io.frames import Frame, Part, Window, new_frame, read_frame, write_frame
from dubkernels.io.sequences import resolve_sequence
from dubkernels.sample import make_sample
from dubkernels.stages.base import run_stage
from dubkernels.stages.common import face_layer
from dubkernels.jobs.spec import Job, JobError
from dubkernels.stages.mouth_composite import MouthComposite, ring_gains, within
from dubkernels.tracks import file_digest, Track, save_track

FRAMES = [1001, 1002, 1003]
DISPLAY = Window(0, 0, 512, 512)
DATA = Window(100, 40, 320, 300)  # a bbox smaller than the plate, around the face
FACE_GAINS = (1.4, 1.0, 0.7)  # a colour cast on the face layer for the colour-match test


@dataclasses.dataclass
class Shot:
    actor: str
    actor_track: str
    face: str
    face_track: str
    tracks: dict[str, Track]
    root: Path


def _pattern(root: Path, name: str) -> str:
    return str(root / name / f"{name}.####.exr")


def _path(pattern: str, frame: int) -> str:
    return pattern.replace("####", f"{frame:04d}")


def _named(frame: Frame, name: str) -> Part:
    frame.spec.attribute("name", name)
    return frame.parts[0]


def _write_plate(source: str, pattern: str, data: Window, rng: np.random.Generator) -> None:
    """A0: the sample's RGB inside ``data`` plus a noisy alpha and Z, and a second part 'extra'."""
    for f in FRAMES:
        rgb = read_frame(_path(source, f)).pixels[data.y : data.y_end, data.x : data.x_end]
        extra = rng.random((data.height, data.width, 2), np.float32)
        main = new_frame(np.concatenate([rgb, extra.astype(np.float16)], axis=2),
                         channel_names=("R", "G", "B", "A", "Z"), data_window=data, display_window=DISPLAY)
        other = new_frame(rng.random((data.height, data.width, 1), np.float32), channel_names=("Y",),
                          data_window=data, display_window=DISPLAY)
        write_frame(_path(pattern, f), Frame([_named(main, "rgba"), _named(other, "extra")]))


def _write_faces(source: str, track: Track, pattern: str, gains=(1.0, 1.0, 1.0), display=DISPLAY) -> Track:
    """F of frame f: the sample actor's face of frame f + 1 (another mouth) as a face layer; returns its track."""
    records = []
    for f in FRAMES:
        record = track.record(f + 1)
        alpha = face_mask(record.landmarks, grow=0.0, feather=0.05).full(512, 512)[..., None]
        rgb = read_frame(_path(source, f + 1)).rgb() * np.float32(gains)
        layer = face_layer(np.concatenate([rgb * alpha, alpha], axis=2), (0, 0), display)
        write_frame(_path(pattern, f), layer)
        records.append(dataclasses.replace(record, frame=f, digest=file_digest(_path(pattern, f))))
    return Track(pattern, display.width, display.height, records)


@pytest.fixture(scope="module")
def shot(tmp_path_factory) -> Shot:
    root = tmp_path_factory.mktemp("mouth")
    sample = make_sample(root / "sample", frames=4)
    sample_track = analyze_sequence(resolve_sequence(sample.actor))
    rng = np.random.default_rng(7)
    actor = _pattern(root, "a0")
    _write_plate(sample.actor, actor, DATA, rng)
    tracks = {"actor": analyze_sequence(resolve_sequence(actor)),
              "face": _write_faces(sample.actor, sample_track, _pattern(root, "face")),
              "tinted": _write_faces(sample.actor, sample_track, _pattern(root, "tinted"), FACE_GAINS)}
    for name, track in tracks.items():
        save_track(track, root / f"{name}.track.json")
    return Shot(actor, str(root / "actor.track.json"), _pattern(root, "face"), str(root / "face.track.json"),
                tracks, root)


def _job(shot: Shot, out: Path, frames: str | None = None, **inputs_and_params) -> Job:
    inputs = {"actor": shot.actor, "actor_track": shot.actor_track, "face": shot.face, "face_track": shot.face_track}
    inputs.update({k: v for k, v in inputs_and_params.items() if k in inputs})
    params = {k: v for k, v in inputs_and_params.items() if k not in inputs}
    outputs = {"out": str(out / "comp.####.exr"), "mask": str(out / "mask.####.exr")}
    return Job("mouth_composite", inputs, outputs, frames, params)


def _run(shot: Shot, out: Path, frames: str | None = None, **kwargs) -> Path:
    run_stage(MouthComposite(_job(shot, out, frames, **kwargs)), workers=1)
    return out


def _bits(part: Part) -> np.ndarray:
    return part.pixels.view(np.uint16)


def _mask_on_data(out: Path, frame: int) -> np.ndarray:
    """The written debug mask over A0's data window."""
    mask = read_frame(out / f"mask.{frame:04d}.exr")
    assert mask.channel_names == ("mask",) and mask.display_window == DISPLAY
    grid = np.zeros((DATA.height, DATA.width), np.float32)
    w = mask.data_window
    grid[w.y - DATA.y : w.y_end - DATA.y, w.x - DATA.x : w.x_end - DATA.x] = mask.pixels[..., 0]
    return grid


def _mouth_centre(shot: Shot, frame: int) -> tuple[int, int]:
    """Mouth centre (row, column) in A0's data window."""
    x, y = shot.tracks["actor"].record(frame).landmarks[48:60].mean(axis=0)
    return int(round(y)) - DATA.y, int(round(x)) - DATA.x


def _check_local(shot: Shot, out: Path, frame: int) -> np.ndarray:
    """Assert only RGB pixels under the written mask changed; return the changed-pixel map."""
    a0, comp = read_frame(_path(shot.actor, frame)), read_frame(out / f"comp.{frame:04d}.exr")
    assert len(comp.parts) == 2 and comp.channel_names == a0.channel_names
    assert (comp.data_window, comp.display_window) == (DATA, DISPLAY)
    assert comp.pixels.dtype == np.float16
    np.testing.assert_array_equal(_bits(comp.parts[1]), _bits(a0.parts[1]))
    np.testing.assert_array_equal(_bits(comp.parts[0])[..., 3:], _bits(a0.parts[0])[..., 3:])
    changed = (_bits(comp.parts[0]) != _bits(a0.parts[0])).any(axis=-1)
    assert not (changed & (_mask_on_data(out, frame) == 0)).any()
    assert changed[_mouth_centre(shot, frame)] and changed.sum() > 200
    return changed


def test_linear_changes_only_the_mouth(shot, tmp_path):
    out = _run(shot, tmp_path)
    for frame in FRAMES:
        _check_local(shot, out, frame)


def test_debug_mask_is_one_at_the_mouth_and_zero_far_away(shot, tmp_path):
    out = _run(shot, tmp_path, frames="1002")
    mask = _mask_on_data(out, 1002)
    assert mask[_mouth_centre(shot, 1002)] > 0.99
    assert mask[0, 0] == 0 and mask[-1, -1] == 0 and read_frame(out / "mask.1002.exr").pixels.dtype == np.float16


def test_poisson_stays_local_and_differs_from_linear(shot, tmp_path):
    poisson = _run(shot, tmp_path / "poisson", blend="poisson")
    linear = _run(shot, tmp_path / "linear", frames="1001")
    _check_local(shot, poisson, 1001)
    assert not np.array_equal(read_frame(poisson / "comp.1001.exr").pixels, read_frame(linear / "comp.1001.exr").pixels)


def test_poisson_falls_back_to_linear_at_the_plate_border(shot, tmp_path, caplog):
    centre_y = int(shot.tracks["actor"].record(1001).landmarks[48:60, 1].mean())
    clipped = Window(DATA.x, DATA.y, DATA.width, centre_y + 5 - DATA.y)
    actor = _pattern(tmp_path, "clipped")
    _write_plate(_pattern(shot.root / "sample", "actor"), actor, clipped, np.random.default_rng(1))
    records = [dataclasses.replace(r, digest=file_digest(_path(actor, r.frame))) for r in shot.tracks["actor"].records]
    track = str(tmp_path / "clipped.track.json")
    save_track(dataclasses.replace(shot.tracks["actor"], source=actor, records=records), track)
    with caplog.at_level(logging.WARNING):
        poisson = _run(shot, tmp_path / "poisson", "1001", actor=actor, actor_track=track, blend="poisson")
    linear = _run(shot, tmp_path / "linear", "1001", actor=actor, actor_track=track)
    assert "border" in caplog.text
    np.testing.assert_array_equal(read_frame(poisson / "comp.1001.exr").pixels,
                                  read_frame(linear / "comp.1001.exr").pixels)


def test_ring_gains_match_the_face_to_the_plate():
    plate = np.full((40, 40, 3), 0.2, np.float32)
    face = plate * np.float32(FACE_GAINS)
    core = np.zeros((40, 40), bool)
    core[15:25, 15:25] = True
    gains = ring_gains(plate, face, core, np.ones_like(core), ring_px=5)
    np.testing.assert_allclose(face[0, 0] * gains, plate[0, 0], rtol=1e-5)
    assert ring_gains(plate, face, core, np.zeros_like(core), ring_px=5) is None


def test_colour_match_removes_the_face_cast(shot, tmp_path):
    tinted = {"face": _pattern(shot.root, "tinted"), "face_track": str(shot.root / "tinted.track.json")}
    plain = _run(shot, tmp_path / "plain", "1002", **tinted)
    matched = _run(shot, tmp_path / "matched", "1002", colour_match=True, **tinted)
    a0 = read_frame(_path(shot.actor, 1002)).rgb()
    inside = _mask_on_data(plain, 1002) > 0.9

    def cast(out: Path) -> float:
        ratio = read_frame(out / "comp.1002.exr").rgb()[inside].mean(axis=0) / a0[inside].mean(axis=0)
        return float(abs(np.log(ratio[0] / ratio[2])))

    assert cast(matched) < 0.5 * cast(plain)


def test_frames_without_a_face_are_copied(shot, tmp_path):
    track = shot.tracks["actor"]
    records = [dataclasses.replace(r, flag="missing", landmarks=None) if r.frame == 1002 else r for r in track.records]
    save_track(dataclasses.replace(track, records=records), tmp_path / "missing.track.json")
    stage = MouthComposite(_job(shot, tmp_path, actor_track=str(tmp_path / "missing.track.json")))
    summary = run_stage(stage, workers=1)
    assert any("1002" in note and "unchanged" in note for note in summary.notes)
    a0, comp = read_frame(_path(shot.actor, 1002)), read_frame(tmp_path / "comp.1002.exr")
    for mine, theirs in zip(comp.parts, a0.parts):
        np.testing.assert_array_equal(_bits(mine), _bits(theirs))
    pickle.loads(pickle.dumps(stage))  # workers receive the prepared stage


def test_face_at_another_resolution_is_refused(shot, tmp_path):
    other = Window(0, 0, 600, 600)
    face = _pattern(tmp_path, "big")
    track = _write_faces(_pattern(shot.root / "sample", "actor"), _shifted(shot), face, display=other)
    save_track(track, tmp_path / "big.track.json")
    with pytest.raises(DubKernelsError, match=r"big\.1001\.exr is 600x600 but actor .*a0\.1001\.exr is 512x512"):
        _run(shot, tmp_path, "1001", face=face, face_track=str(tmp_path / "big.track.json"))


def _shifted(shot: Shot) -> Track:
    """The face track renumbered back to the sample actor's frames (f + 1)."""
    face = shot.tracks["face"]
    return dataclasses.replace(face, records=[dataclasses.replace(r, frame=r.frame + 1) for r in face.records])


def test_short_face_track_is_refused(shot, tmp_path):
    face = shot.tracks["face"]
    save_track(dataclasses.replace(face, records=face.records[:2]), tmp_path / "short.track.json")
    with pytest.raises(DubKernelsError, match="face_track: .* no frames 1003"):
        _run(shot, tmp_path, face_track=str(tmp_path / "short.track.json"))


@pytest.mark.parametrize("params, message", [
    ({"bogus": 1}, r"unknown parameters \['bogus'\]"),
    ({"blend": "cubic"}, "blend='cubic' is unknown; use one of linear, poisson"),
    ({"feather": -1}, "feather=-1.0 is out of range"),
    ({"grow": "wide"}, "grow='wide' should be a float"),
])
def test_bad_params_are_refused(shot, tmp_path, params, message):
    with pytest.raises(JobError, match=message):
        MouthComposite(_job(shot, tmp_path, **params))


def test_the_chin_option_takes_the_lower_face_down_to_the_jaw():
    from dubkernels.face.align import template
    from dubkernels.face.masks import mouth_mask

    face = template(256) + 100.0
    lips, chin = mouth_mask(face, 0.0, 0.0), mouth_mask(face, 0.0, 0.0, chin=True)
    lips_full, chin_full = lips.full(500, 500), chin.full(500, 500)
    x, y = face[8].round().astype(int)  # the chin point, below the mouth
    assert lips_full[y - 3, x] == 0 and chin_full[y - 3, x] == 1.0
    assert np.all(chin_full[lips_full == 1.0] == 1.0) and chin_full.sum() > 2 * lips_full.sum()


OFFSET = (7, 3)  # a display window whose origin is not (0, 0)
OVERSCAN = Window(-16, -8, 544, 528)  # a data window reaching beyond the display window (display coordinates)


def _placed(window: Window, offset: tuple[int, int]) -> Window:
    """``window`` (display coordinates) in absolute pixel coordinates of a display window at ``offset``."""
    return Window(window.x + offset[0], window.y + offset[1], window.width, window.height)


def _retracked(track: Track, pattern: str, path: Path) -> str:
    """``track`` (its landmarks, in display coordinates, unchanged) for the frames of ``pattern``, saved at ``path``."""
    records = [dataclasses.replace(r, digest=file_digest(_path(pattern, r.frame))) for r in track.records
               if r.frame in FRAMES]
    save_track(dataclasses.replace(track, source=pattern, records=records), path)
    return str(path)


def _placed_shot(shot: Shot, root: Path, data: Window, offset: tuple[int, int]) -> dict[str, str]:
    """The shot's plate and face layer with the display window's origin at ``offset``, as EXR files hold them:
    the plate's pixels over ``data`` (display coordinates; sample RGB where it meets the display window,
    noise elsewhere and in A, Z and a second part), the face layer placed as OwnMouth and PoseAlign place it
    (origin = display origin + position). The same pixels for every offset: only the windows move."""
    display = _placed(DISPLAY, offset)
    source = _pattern(shot.root / "sample", "actor")
    actor, face = _pattern(root, "a0"), _pattern(root, "face")
    rng = np.random.default_rng(11)
    for f in FRAMES:
        pixels = rng.random((data.height, data.width, 5), np.float32)
        inside = Window(max(data.x, 0), max(data.y, 0), min(data.x_end, DISPLAY.width) - max(data.x, 0),
                        min(data.y_end, DISPLAY.height) - max(data.y, 0))
        pixels[within(inside, data)][..., :3] = read_frame(_path(source, f)).display_rgb()[within(inside, DISPLAY)]
        main = new_frame(pixels, channel_names=("R", "G", "B", "A", "Z"), data_window=_placed(data, offset),
                         display_window=display)
        other = new_frame(rng.random((data.height, data.width, 1), np.float32), channel_names=("Y",),
                          data_window=_placed(data, offset), display_window=display)
        write_frame(_path(actor, f), Frame([_named(main, "rgba"), _named(other, "extra")]))
        layer = read_frame(_path(shot.face, f))
        write_frame(_path(face, f), new_frame(layer.pixels, channel_names=("R", "G", "B", "A"),
                                              data_window=_placed(layer.data_window, offset), display_window=display))
    return {"actor": actor, "actor_track": _retracked(shot.tracks["actor"], actor, root / "a0.track.json"),
            "face": face, "face_track": _retracked(shot.tracks["face"], face, root / "face.track.json")}


@pytest.mark.parametrize("data, params", [
    (DATA, {}),
    (OVERSCAN, {}),
    (OVERSCAN, {"blend": "poisson", "colour_match": True}),
    (DATA, {"extent": "face"}),
], ids=["data-inside", "overscan", "overscan-poisson-matched", "face-extent"])
def test_a_display_window_off_the_origin_moves_nothing_but_the_windows(shot, tmp_path, data, params):
    frame = 1002
    outs, plates = {}, {}
    for offset in ((0, 0), OFFSET):
        inputs = _placed_shot(shot, tmp_path / f"in{offset}", data, offset)
        outs[offset] = _run(shot, tmp_path / f"out{offset}", str(frame), **inputs, **params)
        plates[offset] = read_frame(_path(inputs["actor"], frame))
    base, moved = (read_frame(outs[o] / f"comp.{frame}.exr") for o in ((0, 0), OFFSET))
    base_mask, mask = (read_frame(outs[o] / f"mask.{frame}.exr") for o in ((0, 0), OFFSET))
    a0 = plates[OFFSET]

    # (1) the same composite, moved with the windows: the new mouth lands where the face layer puts it
    assert moved.display_window == a0.display_window == _placed(DISPLAY, OFFSET)
    assert moved.data_window == _placed(base.data_window, OFFSET)
    assert mask.data_window == _placed(base_mask.data_window, OFFSET)
    np.testing.assert_array_equal(mask.pixels, base_mask.pixels)
    assert len(moved.parts) == len(base.parts)
    for mine, theirs in zip(moved.parts, base.parts):
        np.testing.assert_array_equal(_bits(mine), _bits(theirs))

    # (2) outside the mouth mask every value of every channel and part keeps the plate's bits
    if params.get("extent") == "face":
        assert len(moved.parts) == 1
    else:
        assert len(moved.parts) == 2 and moved.data_window == a0.data_window
    out_w, dw = moved.data_window, a0.data_window
    rows, cols = slice(out_w.y - dw.y, out_w.y_end - dw.y), slice(out_w.x - dw.x, out_w.x_end - dw.x)
    for mine, theirs in zip(moved.parts, a0.parts):
        assert mine.spec.channelnames == theirs.spec.channelnames and mine.pixels.dtype == theirs.pixels.dtype
    np.testing.assert_array_equal(_bits(moved.parts[0])[..., 3:], _bits(a0.parts[0])[rows, cols, 3:])
    if len(moved.parts) > 1:
        np.testing.assert_array_equal(_bits(moved.parts[1]), _bits(a0.parts[1]))
    grid = np.zeros((out_w.height, out_w.width), np.float32)
    mw = mask.data_window
    grid[mw.y - out_w.y : mw.y_end - out_w.y, mw.x - out_w.x : mw.x_end - out_w.x] = mask.pixels[..., 0]
    changed = (_bits(moved.parts[0]) != _bits(a0.parts[0])[rows, cols]).any(axis=-1)
    assert not (changed & (grid == 0)).any()
    x, y = shot.tracks["actor"].record(frame).landmarks[48:60].mean(axis=0)
    centre = int(round(y)) + OFFSET[1] - out_w.y, int(round(x)) + OFFSET[0] - out_w.x
    assert changed[centre] and grid[centre] > 0.99 and changed.sum() > 200


def test_without_the_chin_the_mask_keeps_inside_the_jaw_line(shot, tmp_path):
    """A mask grown past the face's outline stops short of the jaw line (a moved jaw edge never shows); with
    ``jaw_margin = 0`` it reaches it."""
    kept = _mask_on_data(_run(shot, tmp_path / "kept", frames="1002", grow=1.0), 1002)
    free = _mask_on_data(_run(shot, tmp_path / "free", frames="1002", grow=1.0, jaw_margin=0.0), 1002)
    jaw = shot.tracks["actor"].record(1002).landmarks[5:12].round().astype(int)
    rows, cols = jaw[:, 1] - DATA.y, jaw[:, 0] - DATA.x
    assert free[rows, cols].max() > 0.3 and kept[rows, cols].max() < 0.05
    assert kept[_mouth_centre(shot, 1002)] > 0.99


def test_a_face_layer_edge_inside_the_mask_fades_instead_of_cutting():
    from dubkernels.stages.mouth_composite import faded_alpha

    alpha = np.zeros((40, 60), np.float32)
    alpha[:, :30] = 1.0  # the layer ends at column 30, a hard edge
    faded = faded_alpha(alpha, 8.0)
    assert faded[20, 29] < 0.1 and faded[20, 20] == 1.0 and np.all(faded[:, 30:] == 0.0)
    assert np.all(np.diff(faded[20, 18:31]) <= 0.0) and np.abs(np.diff(faded[20])).max() < 0.3  # a ramp, no step
    assert faded[0, 5] == 1.0  # the window's own border is not the layer's edge
    np.testing.assert_array_equal(faded_alpha(alpha, 0.5), alpha)
