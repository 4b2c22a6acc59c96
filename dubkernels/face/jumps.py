"""Find and repair frames where dlib's fit left the face, or put the mouth where the face's mouth is not.

On a fast, motion-blurred head turn or a beard, dlib's 68-point fit can go wrong for a frame or two
while the frames around it are right (pair A's bearded actor, 1033-1034: the whole fit 40 px off the
face; 1168-1171: eyes and nose right, the lips slid toward one cheek and squeezed). Both show against
the frames around, measured by the median of a short window, which a jump of a few frames does not move:

- the face: a head moves smoothly at 25 fps, and the median of 5 frames follows it, turns included; the
  eyes, brows and nose of a lost fit sit a tenth of an interocular distance or more off that path
  (:func:`face_offsets`). Such a frame's landmarks are interpolated from the frames around, as for a
  frame where no face was found.
- the mouth: lips move with speech, but the mouth corners and the upper lip sit still on the face: in the
  face's own frame (:func:`dubkernels.face.mouth_match.mouth_shapes`) their centre stays within a few
  hundredths of an interocular distance of the median of 11 frames (:func:`mouth_offsets`). A frame
  further off keeps its eyes, brows, nose and upper jaw and gets the mouth and lower jaw of the frames around
  (linear between the nearest ones that kept theirs, in the face's own frame, put back by the frame's own
  stable points). Its mouth is then where the face is, though its opening is a guess, so the own mouth
  does not take such a frame as a source.

Frames are consecutive; NaN landmarks (no face) split them into runs measured apart.

Example:
    >>> landmarks = interpolated(landmarks, face_jumps(landmarks, 0.1))
    >>> landmarks = repaired_mouths(landmarks, mouth_jumps(landmarks, 0.08))
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

from dubkernels.face.landmarks68 import STABLE
from dubkernels.face.mouth_match import SHAPE_POINTS, mouth_shapes, placed

FACE_WINDOW = 5  # frames whose median says where the face is (a jump of up to 2 frames stands out)
MOUTH_WINDOW = 11  # frames whose median says where the mouth sits on the face (a jump of up to 5 frames)
UPPER_MOUTH = tuple(range(48, 55))  # the mouth corners and the upper outer lip: still on the face while speaking


def _runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) runs of True in ``valid``."""
    runs, start = [], None
    for i, v in enumerate([*valid, False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            runs.append((start, i))
            start = None
    return runs


def _off_median(values: np.ndarray, window: int) -> np.ndarray:
    """(N, ...) ``values`` less their median over ``window`` frames, within runs of finite values of at least 3
    frames (NaN elsewhere)."""
    out = np.full(values.shape, np.nan)
    valid = np.isfinite(values.reshape(len(values), -1)).all(axis=1)
    for start, end in _runs(valid):
        count = end - start
        if count < 3:
            continue
        size = min(window, count if count % 2 else count - 1)  # odd
        run = values[start:end]
        out[start:end] = run - median_filter(run, size=(size,) + (1,) * (run.ndim - 1), mode="nearest")
    return out


def face_offsets(landmarks: np.ndarray) -> np.ndarray:
    """(N,) mean distance of each frame's eyes, brows and nose from the median of the :data:`FACE_WINDOW` frames
    around it, in its interocular distances; NaN without a face."""
    landmarks = np.asarray(landmarks, np.float64)
    stable = landmarks[:, list(STABLE)]
    iod = np.linalg.norm(landmarks[:, 36:42].mean(axis=1) - landmarks[:, 42:48].mean(axis=1), axis=1)
    return np.linalg.norm(_off_median(stable, FACE_WINDOW), axis=-1).mean(axis=1) / np.maximum(iod, 1e-6)


def mouth_offsets(landmarks: np.ndarray) -> np.ndarray:
    """(N,) distance of each frame's mouth corners and upper lip (their centre, in the face's own frame) from the
    median of the :data:`MOUTH_WINDOW` frames around it, in interocular distances; NaN without a face."""
    shapes = mouth_shapes(landmarks)
    centre = shapes[:, [SHAPE_POINTS.index(p) for p in UPPER_MOUTH]].mean(axis=1)  # (N, 2)
    return np.linalg.norm(_off_median(centre, MOUTH_WINDOW), axis=1)


def face_jumps(landmarks: np.ndarray, threshold: float) -> np.ndarray:
    """(N,) bool: frames whose fit is more than ``threshold`` off the face's path (:func:`face_offsets`)."""
    return np.nan_to_num(face_offsets(landmarks), nan=0.0) > threshold


def mouth_jumps(landmarks: np.ndarray, threshold: float) -> np.ndarray:
    """(N,) bool: frames whose mouth sits more than ``threshold`` off where the frames around put it
    (:func:`mouth_offsets`)."""
    return np.nan_to_num(mouth_offsets(landmarks), nan=0.0) > threshold


def _between(values: np.ndarray, lost: np.ndarray) -> dict[int, np.ndarray]:
    """Index -> ``values`` of each ``lost`` frame interpolated linearly from the nearest kept frames before and
    after it in its run of finite values (held from the one side where the run has only one); a run with no kept
    frame gets nothing."""
    out = {}
    for start, end in _runs(np.isfinite(values.reshape(len(values), -1)).all(axis=1)):
        kept = [i for i in range(start, end) if not lost[i]]
        if not kept:
            continue
        for i in (i for i in range(start, end) if lost[i]):
            before = max((k for k in kept if k < i), default=None)
            after = min((k for k in kept if k > i), default=None)
            if before is None or after is None:
                out[i] = values[before if before is not None else after].copy()
            else:
                t = (i - before) / (after - before)
                out[i] = (1.0 - t) * values[before] + t * values[after]
    return out


def interpolated(landmarks: np.ndarray, lost: np.ndarray) -> np.ndarray:
    """``landmarks`` (N, 68, 2) with every point of each ``lost`` frame interpolated from the frames around."""
    out = np.array(landmarks, np.float64, copy=True)
    for i, points in _between(out, lost).items():
        out[i] = points
    return out


def repaired_mouths(landmarks: np.ndarray, lost: np.ndarray) -> np.ndarray:
    """``landmarks`` (N, 68, 2) with the mouth and lower jaw of each ``lost`` frame interpolated, in the face's own
    frame, from the frames around, and put back by the frame's own stable points."""
    out = np.array(landmarks, np.float64, copy=True)
    for i, shape in _between(mouth_shapes(out), lost).items():
        out[i, list(SHAPE_POINTS)] = placed(shape, out[i])
    return out
