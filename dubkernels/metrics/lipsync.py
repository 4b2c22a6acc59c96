"""Lip-sync and temporal metrics from 68-point landmarks (arrays (N, 68, 2), NaN where no face).

- mouth opening: mean inner-lip gap (61-67, 62-66, 63-65) across the lips (along the face's vertical, square to
  the eye line) over the interocular distance, the measure the own mouth selects with; lips read crossed further
  than the detector's ``CROSSED_GAP`` are lost (NaN), a slighter crossing is a closed mouth (0);
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

from dubkernels.face.landmarks68 import LEFT_EYE, MOUTH, RIGHT_EYE, STABLE, eye_centres, mean_face_3d
from dubkernels.face.mouth_match import CLOSED_GAP, CROSSED_GAP, OPEN_GAP

INNER_PAIRS = ((61, 67), (62, 66), (63, 65))
NOSE_TIP = 33


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


def signed_opening(landmarks: np.ndarray) -> np.ndarray:
    """Per-frame inner-lip gap across the lips over the interocular distance (N,): each lower inner point's offset
    from its upper one along the face's vertical (square to the eye line, toward the nose), so lips shifted sideways
    do not read as parted; negative where the lower inner lip reads above the upper; NaN without a face."""
    landmarks = _check(landmarks)
    right = landmarks[:, list(RIGHT_EYE)].mean(axis=1)
    left = landmarks[:, list(LEFT_EYE)].mean(axis=1)
    across = left - right
    down = np.stack([-across[:, 1], across[:, 0]], axis=1)
    down *= np.sign(np.einsum("ij,ij->i", down, landmarks[:, NOSE_TIP] - (left + right) / 2))[:, None]
    gaps = np.mean([np.einsum("ij,ij->i", landmarks[:, b] - landmarks[:, a], down) for a, b in INNER_PAIRS], axis=0)
    return gaps / np.einsum("ij,ij->i", across, across)


def lips_lost(landmarks: np.ndarray) -> np.ndarray:
    """(N,) bool: frames whose inner lips read crossed further than ``CROSSED_GAP`` (lips cannot pass through each
    other: the detector lost them there)."""
    with np.errstate(invalid="ignore"):
        return signed_opening(landmarks) < -CROSSED_GAP


def mouth_opening(landmarks: np.ndarray) -> np.ndarray:
    """Per-frame mouth opening (N,): :func:`signed_opening`, 0 where the lips meet or cross slightly, NaN without a
    face or where the detector lost the lips (:func:`lips_lost`)."""
    gaps = signed_opening(landmarks)
    with np.errstate(invalid="ignore"):
        return np.where(gaps < -CROSSED_GAP, np.nan, np.maximum(gaps, 0.0))


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation over the entries where both are finite (NaN when fewer than 3 or flat)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"curves differ in length: {a.shape} vs {b.shape}")
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 3 or any(np.std(x[keep]) <= 1e-12 * (1.0 + np.abs(x[keep]).max()) for x in (a, b)):
        return float("nan")  # a flat curve (to rounding) has no correlation
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


# Closure: a dubber frame counts as closed below CLOSED_GAP and as open above OPEN_GAP (frames between are on their
# way and not counted); a result frame agrees with a closed one below the band's middle and with an open one above.
REST_SHARE = 0.2  # the share of a take's frames, least open, that stands for its resting (closed) mouth
SHAPE_VARIANCE = 0.95  # principal components of the dubber's mouth kept for the shape r: this share of its variance
MAX_SHAPE_COMPONENTS = 6
MAX_LAG = 6  # frames either way searched for the best lag


def mouth_movement(landmarks: np.ndarray) -> np.ndarray:
    """The 20 lip points on the frontal face less the person's resting mouth (the median of the ``REST_SHARE``
    least open frames), flattened (N, 40); NaN where no face. The lips' build is gone, their movement stays."""
    landmarks = _check(landmarks)
    mouths = _frontal_mouths(landmarks).reshape(len(landmarks), -1)
    opening = mouth_opening(landmarks)
    finite = np.isfinite(mouths).all(axis=1) & np.isfinite(opening)
    if not finite.any():
        return mouths
    rest = mouths[finite][opening[finite] <= np.quantile(opening[finite], REST_SHARE)]
    return mouths - np.median(rest, axis=0)


def still_steps(landmarks: np.ndarray, share: float = 0.5) -> np.ndarray:
    """(N - 1,) bool: the steps between consecutive frames where the lips move least (the ``share`` of steps with
    the smallest lip-point change), where a mouth that follows them should hold still too; False without a face."""
    movement = mouth_movement(landmarks)
    steps = np.linalg.norm(np.diff(movement, axis=0), axis=1)
    finite = np.isfinite(steps)
    if not finite.any():
        return finite
    return finite & (steps <= np.quantile(steps[finite], share))


def shape_components(reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Principal components (K, 40) of a reference's mouth movement (N, 40) and their variances (K,): the fewest
    that hold ``SHAPE_VARIANCE`` of it, at most ``MAX_SHAPE_COMPONENTS``."""
    finite = reference[np.isfinite(reference).all(axis=1)]
    if len(finite) < 3:
        return np.zeros((0, reference.shape[1])), np.zeros(0)
    centred = finite - finite.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    variance = singular**2 / (len(finite) - 1)
    share = np.cumsum(variance) / max(variance.sum(), 1e-300)
    count = min(int(np.searchsorted(share, SHAPE_VARIANCE) + 1), MAX_SHAPE_COMPONENTS, len(variance))
    return vt[:count], variance[:count]


def shape_r(result: np.ndarray, reference: np.ndarray) -> float:
    """Mouth-shape r (whole mouth, not only its opening): the result's and the reference's lip movements
    (:func:`mouth_movement`) projected on the reference's principal components, Pearson r per component,
    averaged with the components' variances as weights. Lips that widen, pout or move sideways count."""
    moves = mouth_movement(result), mouth_movement(reference)
    components, variance = shape_components(moves[1])
    if not len(variance):
        return float("nan")
    rs = np.array([pearson(moves[0] @ c, moves[1] @ c) for c in components])
    keep = np.isfinite(rs)
    return float(np.sum(rs[keep] * variance[keep]) / variance[keep].sum()) if keep.any() else float("nan")


def shape_curve(result: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per frame (N,) the result's mouth movement along the reference's first principal component (for curves)."""
    components, _ = shape_components(mouth_movement(reference))
    if not len(components):
        return np.full(len(result), np.nan)
    return mouth_movement(result) @ components[0]


def closure_states(opening: np.ndarray) -> np.ndarray:
    """Per frame of a reference's opening curve: 0 closed, 1 open, -1 on its way or no face."""
    opening = np.asarray(opening, np.float64)
    states = np.full(len(opening), -1, np.int64)
    states[opening < CLOSED_GAP] = 0
    states[opening > OPEN_GAP] = 1
    return states


def closure_agreement(result: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Closures honoured, in percent of the reference's clearly closed and clearly open frames: ``all``, ``closed``
    (the result's lips meet where the reference's do) and ``open`` (they part where the reference's do); NaN
    where the reference has no such frame."""
    result, states = np.asarray(result, np.float64), closure_states(reference)
    middle = (CLOSED_GAP + OPEN_GAP) / 2
    counted = (states >= 0) & np.isfinite(result)
    agree = np.where(states == 0, result < middle, result >= middle) & counted

    def percent(where: np.ndarray) -> float:
        return float(100.0 * agree[where].sum() / where.sum()) if where.any() else float("nan")

    return {"all": percent(counted), "closed": percent(counted & (states == 0)),
            "open": percent(counted & (states == 1))}


def lagged_r(result: np.ndarray, reference: np.ndarray, lag: int) -> float:
    """Pearson r of ``result`` delayed by ``lag`` frames against ``reference`` (positive: the result is late)."""
    result, reference = np.asarray(result, np.float64), np.asarray(reference, np.float64)
    if abs(lag) >= len(reference):
        return float("nan")
    if lag >= 0:
        return pearson(result[lag:], reference[: len(reference) - lag])
    return pearson(result[:lag], reference[-lag:])


def best_lag(result: np.ndarray, reference: np.ndarray, max_lag: int = MAX_LAG) -> tuple[int, float]:
    """The lag in frames (positive: the result is late) where the opening r peaks, and that r; (0, NaN) if none."""
    best, best_r = 0, float("nan")
    for lag in sorted(range(-max_lag, max_lag + 1), key=abs):  # ties go to the smaller lag
        r = lagged_r(result, reference, lag)
        if np.isfinite(r) and not (r <= best_r):
            best, best_r = lag, r
    return best, best_r


def detection_noise(curve: np.ndarray) -> float:
    """The frame-to-frame noise of a landmark curve (standard deviation of white noise that would give its
    second differences): how much a re-detection wobbles, to weigh against the movement measured."""
    curve = np.asarray(curve, np.float64)
    second = curve[1:-1] - 0.5 * (curve[:-2] + curve[2:])
    second = second[np.isfinite(second)]
    return float(np.std(second) / np.sqrt(1.5)) if second.size > 2 else float("nan")
