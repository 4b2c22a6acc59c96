"""`analyze_sequence` and the track file on EXR sequences written by the tests."""
from __future__ import annotations

import json

import numpy as np
import pytest

from dubkernels.analysis import AnalysisSettings, analyze_sequence
from dubkernels.colour import ColourSpaces
from dubkernels.face.detect import iou
from dubkernels.errors import FaceError, FrameError, TrackError
from dubkernels.io.frames import new_frame, read_frame, write_frame
from dubkernels.io.sequences import resolve_sequence
from dubkernels.tracks import (
    OVERRIDES_FORMAT,
    load_track,
    merge_overrides,
    save_track,
)
from tests.faces import astronaut_linear


@pytest.fixture(scope="module")
def colour():
    return ColourSpaces()


def _shot(tmp_path, colour, blanks=(), frames=range(1001, 1009), shift=2, make=None):
    """An astronaut shot drifting right by ``shift`` px per frame; ``blanks`` frames are grey."""
    base = astronaut_linear(colour)
    pattern = tmp_path / "shot.####.exr"
    for i, f in enumerate(frames):
        img = np.roll(base, i * shift, axis=1)
        if f in blanks:
            img = np.full_like(base, 0.18)
        if make:
            img = make(f, img)
        write_frame(str(pattern).replace("####", str(f)), new_frame(img))
    return resolve_sequence(pattern)


def test_tracks_the_face_through_the_shot(tmp_path, colour):
    seq = _shot(tmp_path, colour)
    track = analyze_sequence(seq, colour=colour)
    assert track.counts()["detected"] == 8
    noses = track.landmarks_array()[:, 30]
    drift = np.diff(noses[:, 0])
    assert np.all(np.abs(drift - 2.0) < 1.5)  # follows the 2 px/frame motion
    assert np.all(np.abs(np.diff(noses[:, 1])) < 1.5)
    assert len({r.digest for r in track.records}) == 8


def test_short_gap_is_interpolated_long_gap_fails_or_passes_through(tmp_path, colour):
    seq = _shot(tmp_path, colour, blanks={1004, 1005})
    track = analyze_sequence(seq, colour=colour)
    assert [r.flag for r in track.records].count("interpolated") == 2
    lm = track.landmarks_array()
    assert np.allclose(lm[3], (2 * lm[2] + lm[5]) / 3, atol=1e-6)  # linear between neighbours
    assert any("1004-1005" in n and "interpolated" in n for n in track.notes)

    with pytest.raises(FaceError, match=r"no face in frames 1004-1005 \(2 frames, more than the 1 filled in\); "
                                        r".*--max-gap 2.*--set analyze.max_gap=2"):
        analyze_sequence(seq, AnalysisSettings(max_gap=1), colour)
    track = analyze_sequence(seq, AnalysisSettings(max_gap=1, passthrough_missing=True), colour)
    assert [r.frame for r in track.records if r.flag == "missing"] == [1004, 1005]


def test_no_face_anywhere_is_a_clear_error(tmp_path, colour):
    seq = _shot(tmp_path, colour, blanks=set(range(1001, 1004)), frames=range(1001, 1004))
    with pytest.raises(FaceError, match="no face found in any of frames 1001-1003"):
        analyze_sequence(seq, colour=colour)


def test_several_faces_keep_the_tracked_one_and_say_so(tmp_path, colour):
    def two_faces(frame, img):
        return np.concatenate([img, img[:, ::-1]], axis=1)  # the astronaut and her mirror image

    seq = _shot(tmp_path, colour, frames=range(1001, 1004), make=two_faces, shift=0)
    track = analyze_sequence(seq, AnalysisSettings(face_hint=(800.0, 150.0)), colour)
    assert all(r.box[0] > 512 for r in track.records)  # the hinted (right-hand) face throughout
    assert any("2 faces" in n and "hinted" in n for n in track.notes)
    track = analyze_sequence(seq, colour=colour)
    first = track.records[0].box
    assert all(iou(r.box, first) > 0.5 for r in track.records)  # never jumps to the other face


def test_nan_pixels_and_resolution_change_name_the_frame(tmp_path, colour):
    clean = analyze_sequence(_shot(tmp_path / "clean", colour, frames=range(1001, 1004)), colour=colour)
    nose_x, nose_y = clean.record(1002).landmarks[30].astype(int)  # NaN/Inf where the face is read

    def poison(frame, img):
        if frame == 1002:
            img = img.copy()
            img[nose_y, nose_x, 0] = np.inf
        return img

    seq = _shot(tmp_path / "nan", colour, frames=range(1001, 1004), make=poison)
    with pytest.raises(FrameError, match=r"shot\.1002\.exr \(frame 1002\): 1 NaN/Inf"):
        analyze_sequence(seq, colour=colour)

    def far_off(frame, img):  # away from the face nothing is read: the plate's pixel passes through untouched
        img = img.copy()
        img[2, 2, 0] = np.nan
        return img

    seq = _shot(tmp_path / "far", colour, frames=range(1001, 1004), make=far_off)
    assert analyze_sequence(seq, colour=colour).counts()["detected"] == 3

    seq = _shot(tmp_path / "res", colour, frames=range(1001, 1003))
    write_frame(seq.path(1002), new_frame(np.zeros((100, 100, 3), np.float32)))
    with pytest.raises(FaceError, match=r"frame 1002\): display window 100x100 differs .* 512x512"):
        analyze_sequence(seq, colour=colour)

    seq = _shot(tmp_path / "channels", colour, frames=range(1001, 1004))  # one frame written again as luma only
    rgb = read_frame(seq.path(1002)).display_rgb()
    write_frame(seq.path(1002), new_frame(np.ascontiguousarray(rgb[..., :1]), channel_names=("Y",)))
    with pytest.raises(FaceError, match=r"frame 1002\): channels Y differ from the plate's first frame's \(R, G, B"):
        analyze_sequence(seq, colour=colour)


def test_track_round_trip_and_overrides(tmp_path, colour):
    seq = _shot(tmp_path, colour, frames=range(1001, 1004))
    track = analyze_sequence(seq, colour=colour)
    path = tmp_path / "shot.track.json"
    save_track(track, path)
    back = load_track(path)
    assert back.frames == [1001, 1002, 1003]
    assert back.fingerprint == track.fingerprint
    assert np.allclose(back.landmarks_array(), track.landmarks_array(), atol=1e-3)
    assert back.settings["detector"] == "hog" and back.settings["colourspace"] == "ACEScg"

    fixed = back.record(1002).landmarks + (3.0, -2.0)
    overrides = tmp_path / "fix.json"
    overrides.write_text(json.dumps({"format": OVERRIDES_FORMAT, "version": 1,
                                     "frames": {"1002": {"landmarks": fixed.tolist()}}}))
    merged = merge_overrides(back, overrides)
    rec = merged.record(1002)
    assert rec.flag == "user" and np.allclose(rec.landmarks, fixed)
    assert rec.box[0] == pytest.approx(fixed[:, 0].min())
    assert merged.record(1001).flag == "detected"
    save_track(merged, path)
    assert load_track(path).record(1002).flag == "user"


def test_bad_track_and_override_files(tmp_path, colour):
    with pytest.raises(TrackError, match="not found; run `dubkernels analyze`"):
        load_track(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(TrackError, match="not valid JSON"):
        load_track(bad)
    bad.write_text(json.dumps({"format": "dubkernels-track", "version": 99}))
    with pytest.raises(TrackError, match="version 99 is not supported"):
        load_track(bad)

    seq = _shot(tmp_path, colour, frames=range(1001, 1003))
    track = analyze_sequence(seq, colour=colour)
    ov = tmp_path / "ov.json"
    ov.write_text(json.dumps({"format": OVERRIDES_FORMAT, "version": 1, "frames": {"1500": {"landmarks": []}}}))
    with pytest.raises(TrackError, match="frame 1500 is outside the track"):
        merge_overrides(track, ov)
    ov.write_text(json.dumps({"format": OVERRIDES_FORMAT, "version": 1, "frames": {"1001": {"landmarks": [[1, 2]]}}}))
    with pytest.raises(TrackError, match="frame 1001 landmarks must be 68"):
        merge_overrides(track, ov)

    path = tmp_path / "t.json"
    save_track(track, path)
    data = json.loads(path.read_text())
    data["records"][0]["digest"] = "0" * 32
    path.write_text(json.dumps(data))
    with pytest.raises(TrackError, match="fingerprint does not match"):
        load_track(path)


def test_a_guide_keeps_every_frame_of_a_face_the_detector_loses(tmp_path):
    """Generated faces dlib cannot find still get landmarks: the guide's, flagged 'guided'."""
    from dubkernels.sample import make_sample
    from dubkernels.tracks import load_guide, save_landmarks

    sample = make_sample(tmp_path / "s", 3)
    truth = json.loads(sample.truth.read_text())["actor"]["landmarks"]
    guide = {int(f): np.asarray(lm) for f, lm in truth.items()}
    save_landmarks(tmp_path / "guide.json", guide, "test")
    assert set(load_guide(tmp_path / "guide.json")) == set(guide)
    blank = str(tmp_path / "blank" / "b.####.exr")
    for f in guide:  # no face at all: detection finds nothing
        write_frame(blank.replace("####", str(f)), new_frame(np.full((512, 512, 3), 0.18, np.float32)))
    track = analyze_sequence(resolve_sequence(blank), guide=load_guide(tmp_path / "guide.json"))
    assert track.counts()["guided"] == 3 and track.counts()["missing"] == 0
    np.testing.assert_allclose(track.landmarks_array(), np.stack([guide[f] for f in sorted(guide)]))
    real = analyze_sequence(resolve_sequence(sample.actor), guide=guide)  # on the real face: dlib's own points
    assert real.counts()["detected"] == 3


def test_runs_of_frames_tracked_side_by_side_give_the_track_of_one_run(tmp_path, colour, monkeypatch):
    from dubkernels import analysis
    from dubkernels.jobs.spec import Job
    from dubkernels.tasks.analyze import run_analyze

    seq = _shot(tmp_path, colour)
    whole = analyze_sequence(seq, colour=colour)
    monkeypatch.setattr(analysis, "SEGMENT_FRAMES", 3)  # runs 1001-1003, 1004-1006, 1007-1008
    in_turn = analyze_sequence(seq, colour=colour)
    job = Job("analyze", {"plate": seq.pattern}, {"out": str(tmp_path / "shot.track.json")})
    run_analyze(job, workers=2)
    side_by_side = load_track(tmp_path / "shot.track.json")
    assert [r.frame for r in side_by_side.records] == list(seq.frames)
    np.testing.assert_array_equal(side_by_side.landmarks_array(), in_turn.landmarks_array())
    moved = np.abs(in_turn.landmarks_array() - whole.landmarks_array())  # a run's first box is found afresh
    assert np.median(moved) < 0.5 and moved.max() < 5.0


def test_a_run_that_starts_on_another_face_is_tracked_again_from_the_run_before(tmp_path, colour, monkeypatch):
    import cv2

    from dubkernels import analysis

    def a_bigger_face_joins(frame, img):
        h, w = img.shape[:2]
        other = cv2.resize(img[:, ::-1], None, fx=1.3, fy=1.3)[:h, :w] if frame >= 1003 else np.full_like(img, 0.18)
        return np.concatenate([img, other], axis=1)

    seq = _shot(tmp_path, colour, frames=range(1001, 1005), make=a_bigger_face_joins, shift=0)
    monkeypatch.setattr(analysis, "SEGMENT_FRAMES", 2)
    fresh = analysis.track_frames(seq, [1003, 1004], AnalysisSettings(), colour)
    assert fresh.records[0].box[0] > 512  # searched whole, the run alone takes the bigger face
    track = analyze_sequence(seq, colour=colour)
    assert all(r.box[0] < 512 for r in track.records)  # stitched: the face tracked from the first frame


def test_detected_landmarks_are_fitted_again_in_the_box_of_their_first_fit(colour):
    """The predictor runs in the detector's box, then in the box of what it found there (the box a generated
    face is measured in), and the second fit is the one kept."""
    from dubkernels.analysis import FaceAnalyzer
    from dubkernels.face.detect import Detection
    from dubkernels.tracks import box_from_landmarks

    class Recording:
        def __init__(self):
            self.boxes = []

        def landmarks(self, gray, box):
            self.boxes.append(tuple(box))
            x0, y0, x1, y1 = box
            grid = np.stack(np.meshgrid(np.linspace(0, 1, 17), np.linspace(0, 1, 4)), -1).reshape(-1, 2)[:68]
            return np.array([x0 + 10, y0 + 20]) + grid * [(x1 - x0) * 0.8, (y1 - y0) * 0.9]

    predictor = Recording()
    analyzer = FaceAnalyzer(AnalysisSettings(), colour, detector=predictor)  # type: ignore[arg-type]
    rgb = np.full((400, 400, 3), 0.18, np.float32)
    record = analyzer.detected(rgb, 1001, Detection((100.0, 100.0, 300.0, 300.0), 1.0))
    assert len(predictor.boxes) == 2  # (in the crop's pixels: the fake answers the same wherever the crop is)
    first = predictor.landmarks(None, (100.0, 100.0, 300.0, 300.0))
    np.testing.assert_allclose(record.landmarks, predictor.landmarks(None, box_from_landmarks(first)))
    assert not np.allclose(record.landmarks, first)
