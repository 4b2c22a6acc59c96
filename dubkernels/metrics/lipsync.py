"""Lip-sync and temporal metrics from 68-point landmarks (arrays (N, 68, 2), NaN where no face).

- mouth opening: mean inner-lip gap (61-67, 62-66, 63-65) over the interocular distance;
- Pearson r of two opening curves over the frames both have;
- LMD (paper): mouth landmarks 48-67 after aligning each frame on the stable points
  (brows, nose, eyes) with a similarity, mean distance over the interocular distance;
- LMD of the movement: the same, after taking each sequence's median mouth off, so two people's lip build
  (width, thickness) does not count, only how the mouths move;
- jitter: mean second difference of the mouth landmarks over the interocular distance.

Example:
    >>> r = pearson(mouth_opening(result), mouth_opening(dubber))
"""
from __future__ import annotations

import numpy as np
from skimage.transform import SimilarityTransform

from dubkernels.face.landmarks68 import MOUTH, STABLE, eye_centres, mean_face_3d

INNER_PAIRS = ((61, 67), (62, 66), (63, 65))


def _check(landmarks: np.ndarray) -> np.ndarray:
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.ndim != 3 or landmarks.shape[1:] != (68, 2):
        raise ValueError(f"expected landmarks (N, 68, 2), got {landmarks.shape}")
    return landmarks


def interoculars(landmarks: np.ndarray) -> np.ndarray:
    """Per-frame distance between the eye centres (N,)."""
    landmarks = _check(landmarks)
    out = np.full(len(landmarks), np.nan)
    for i, frame in enumerate(landmarks):
        if np.isfinite(frame).all():
            right, left = eye_centres(frame)
            out[i] = float(np.linalg.norm(left - right))
    return out


def mouth_opening(landmarks: np.ndarray) -> np.ndarray:
    """Per-frame inner-lip gap over the interocular distance (N,); NaN without a face."""
    landmarks = _check(landmarks)
    gaps = np.mean([np.linalg.norm(landmarks[:, a] - landmarks[:, b], axis=-1) for a, b in INNER_PAIRS], axis=0)
    return gaps / interoculars(landmarks)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation over the entries where both are finite (NaN when fewer than 3 or flat)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"curves differ in length: {a.shape} vs {b.shape}")
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 3 or np.std(a[keep]) == 0 or np.std(b[keep]) == 0:
        return float("nan")
    return float(np.corrcoef(a[keep], b[keep])[0, 1])


def lmd(result: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per-frame landmark distance of the mouth (48-67) after aligning on the stable points, / IOD (N,)."""
    result, reference = _check(result), _check(reference)
    if result.shape != reference.shape:
        raise ValueError(f"landmark arrays differ: {result.shape} vs {reference.shape}")
    out = np.full(len(result), np.nan)
    iod = interoculars(reference)
    for i, (r, ref) in enumerate(zip(result, reference)):
        if not (np.isfinite(r).all() and np.isfinite(ref).all()):
            continue
        fit = SimilarityTransform.from_estimate(r[list(STABLE)], ref[list(STABLE)])
        moved = fit(r) if fit else r
        out[i] = float(np.linalg.norm(moved[list(MOUTH)] - ref[list(MOUTH)], axis=1).mean() / iod[i])
    return out


def _frontal_mouths(landmarks: np.ndarray) -> np.ndarray:
    """Mouth points (N, 20, 2) put on the frontal mean face by a similarity of the stable points, in its
    interocular distances; NaN where no face."""
    frontal = mean_face_3d()[:, :2]
    right, left = eye_centres(frontal)
    frontal = frontal / float(np.linalg.norm(right - left))
    out = np.full((len(landmarks), len(MOUTH), 2), np.nan)
    for i, points in enumerate(landmarks):
        if np.isfinite(points).all():
            fit = SimilarityTransform.from_estimate(points[list(STABLE)], frontal[list(STABLE)])
            if fit:
                out[i] = fit(points[list(MOUTH)])
    return out


def lmd_movement(result: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per-frame LMD of the mouths' movement (N,): mouths on the frontal face, less each sequence's median
    mouth, mean point distance in interocular distances. Two people saying the same thing score near 0."""
    result, reference = _check(result), _check(reference)
    if result.shape != reference.shape:
        raise ValueError(f"landmark arrays differ: {result.shape} vs {reference.shape}")
    moves = []
    for mouths in (_frontal_mouths(result), _frontal_mouths(reference)):
        finite = np.isfinite(mouths).all(axis=(1, 2))
        moves.append(mouths - np.median(mouths[finite], axis=0) if finite.any() else mouths)
    return np.linalg.norm(moves[0] - moves[1], axis=-1).mean(axis=1)


def jitter(landmarks: np.ndarray) -> float:
    """Mean second difference of the mouth landmarks over the interocular distance (NaN under 3 frames)."""
    landmarks = _check(landmarks)
    mouth = landmarks[:, list(MOUTH)]
    second = np.linalg.norm(mouth[2:] - 2.0 * mouth[1:-1] + mouth[:-2], axis=-1).mean(axis=1)
    second = second / interoculars(landmarks)[1:-1]
    second = second[np.isfinite(second)]
    return float(second.mean()) if second.size else float("nan")
