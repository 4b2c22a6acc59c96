"""Frames where dlib lost the face or slid the mouth off it: found against the frames around, and repaired."""
from __future__ import annotations

import numpy as np

from dubkernels.analysis import repair_jumps
from dubkernels.face.landmarks68 import MOUTH, interocular
from dubkernels.face.jumps import (face_jumps, face_offsets, interpolated, mouth_jumps, mouth_offsets,
                                   repaired_mouths)
from dubkernels.face.mouth_match import SHAPE_POINTS
from dubkernels.tracks import FrameRecord
from tests.test_own_mouth import face

FRAMES = 40


def talking(count: int = FRAMES) -> np.ndarray:
    """(N, 68, 2) a face that talks (the mouth opens and shuts every few frames, up to wide open) while the head
    moves across the frame, grows and rolls."""
    t = np.arange(count)
    opening = 12.0 * np.abs(np.sin(t * 0.9))  # pixels of a 256 crop: shut to wide open within two frames
    return np.stack([face(o, shift=(300.0 + 6.0 * i, 200.0 + 2.0 * i), scale=1.0 + 0.01 * i, roll=0.02 * i)
                     for i, o in enumerate(opening)])


def slid(landmarks: np.ndarray, frames: list[int]) -> np.ndarray:
    """``landmarks`` with the mouth of ``frames`` slid toward one cheek and squeezed, as dlib does on a blur."""
    out = landmarks.copy()
    for i in frames:
        mouth = out[i, list(MOUTH)]
        centre = mouth.mean(axis=0)
        out[i, list(MOUTH)] = centre + 0.7 * (mouth - centre) - [0.25 * interocular(out[i]), 0.0]
    return out


def test_a_talking_mouth_stays_put_and_a_slid_one_is_found():
    truth = talking()
    assert not mouth_jumps(truth, 0.06).any()  # wide openings within two frames: the upper lip stays on the face
    assert np.nanmax(mouth_offsets(truth)) < 0.02
    found = mouth_jumps(slid(truth, [10, 11, 25]), 0.06)
    assert sorted(np.flatnonzero(found)) == [10, 11, 25]


def test_the_repair_puts_the_mouth_back_where_the_face_is():
    truth = talking()
    broken = slid(truth, [10, 11, 25])
    fixed = repaired_mouths(broken, mouth_jumps(broken, 0.06))
    untouched = [i for i in range(FRAMES) if i not in (10, 11, 25)]
    np.testing.assert_array_equal(fixed[untouched], broken[untouched])
    for i in (10, 11, 25):
        np.testing.assert_array_equal(fixed[i, :4], broken[i, :4])  # the upper jaw, eyes, nose as fitted
        centre_error = np.linalg.norm(fixed[i, list(MOUTH)].mean(axis=0) - truth[i, list(MOUTH)].mean(axis=0))
        width = np.linalg.norm(fixed[i, 54] - fixed[i, 48]) / np.linalg.norm(truth[i, 54] - truth[i, 48])
        assert centre_error / interocular(truth[i]) < 0.06  # was 0.25 off
        assert 0.95 < width < 1.05  # no longer squeezed


def test_a_slid_mouth_at_the_end_of_a_run_takes_the_nearest_kept_one_and_no_face_splits_runs():
    truth = talking(12)
    truth[6] = np.nan  # a frame without a face: two runs
    broken = slid(truth, [5])
    lost = np.zeros(12, bool)
    lost[5] = True
    fixed = repaired_mouths(broken, lost)
    assert np.isnan(fixed[6]).all()
    error = np.abs(fixed[5, list(SHAPE_POINTS)] - truth[5, list(SHAPE_POINTS)]).max()
    assert error < np.abs(broken[5, list(SHAPE_POINTS)] - truth[5, list(SHAPE_POINTS)]).max() / 2


def test_repaired_frames_are_flagged_and_named():
    broken = slid(talking(), [20])
    records = [FrameRecord(1001 + i, "detected", lm, (0.0, 0.0, 1.0, 1.0), 0.9) for i, lm in enumerate(broken)]
    notes = repair_jumps(records, 1920, 1080, 0.1, 0.06)
    assert [r.frame for r in records if r.flag == "repaired"] == [1021]
    assert records[20].confidence == 0.0 and records[20].pose is not None
    assert len(notes) == 1 and "1021" in notes[0] and "mouth" in notes[0]
    assert repair_jumps(records, 1920, 1080, 0.1, 0.06) == []  # repaired: nothing left to repair


def test_a_head_turning_fast_stays_on_its_path_and_a_lost_fit_is_put_back_on_it():
    truth = talking()
    swing = 200.0 * np.sin(2 * np.pi * np.arange(FRAMES) / 40)  # a head turn and back in 1.6 s: up to 31 px a frame
    truth += np.stack([swing, 0.2 * swing], axis=1)[:, None, :]
    assert np.nanmax(face_offsets(truth)) < 0.07  # well under the 0.1 of a lost fit
    broken = truth.copy()
    broken[[12, 13]] += [0.6 * interocular(truth[12]), 0.3 * interocular(truth[12])]  # the whole fit off the face
    lost = face_jumps(broken, 0.1)
    assert sorted(np.flatnonzero(lost)) == [12, 13]
    fixed = interpolated(broken, lost)
    for i in (12, 13):
        assert np.linalg.norm(fixed[i] - truth[i], axis=1).mean() / interocular(truth[i]) < 0.1  # was 0.67 off
    records = [FrameRecord(1001 + i, "detected", lm, (0.0, 0.0, 1.0, 1.0), 0.9) for i, lm in enumerate(broken)]
    notes = repair_jumps(records, 1920, 1080, 0.1, 0.08)
    assert [r.frame for r in records if r.flag == "repaired"] == [1013, 1014]
    assert any("1013-1014" in n and "lost the face" in n for n in notes)
    assert records[12].box[0] > 300  # the box follows the repaired landmarks
