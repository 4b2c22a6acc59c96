"""Pick, for every target mouth shape, the actor frame whose own mouth is nearest ("video rewrite").

A mouth shape is the mouth (48-67) and lower jaw (4-12) landmarks after a similarity that puts the
stable points (brows, nose, eyes) on the frontal mean face, in interocular distances: the same
shape gives the same numbers whatever the head's position, size or roll. Two people's mouths are
compared by their deviations from each one's closed mouth (the movement, not the lips' build).
Distances are mean point distances in interocular distances, plus a head-pose term so a turned
head does not lend its mouth to a frontal one.

Choosing frame by frame would jump between distant moments of the take; the choice is a shortest
path (Viterbi) over each frame's nearest candidates that charges ``jump_cost`` whenever the chosen
actor frames do not simply follow on, so runs of consecutive actor frames carry natural motion.

Example:
    >>> shapes = mouth_shapes(actor_landmarks)            # (S, 29, 2)
    >>> d = shape_distances(deviations(mouth_shapes(targets)), deviations(shapes))  # (T, S)
    >>> picks = choose_frames(d, jump_cost=0.05)
"""
from __future__ import annotations

import numpy as np
from skimage.transform import SimilarityTransform

from dubkernels.face.align import template
from dubkernels.face.landmarks68 import MOUTH, STABLE

LOWER_JAW = tuple(range(4, 13))
SHAPE_POINTS = MOUTH + LOWER_JAW
INNER_PAIRS = ((61, 67), (62, 66), (63, 65))
REST_SHARE = 0.2  # the share of a take's frames, least open, that stands for its closed mouth


def _reference() -> np.ndarray:
    """The frontal mean face's landmarks, scaled to an interocular distance of 1."""
    face = template(256)
    iod = float(np.linalg.norm(face[36:42].mean(axis=0) - face[42:48].mean(axis=0)))
    return face / iod


def mouth_shapes(landmarks: np.ndarray) -> np.ndarray:
    """Pose-normalised mouth and lower-jaw points (N, 29, 2) of landmarks (N, 68, 2); NaN where no face."""
    landmarks = np.asarray(landmarks, np.float64)
    if landmarks.ndim != 3 or landmarks.shape[1:] != (68, 2):
        raise ValueError(f"expected landmarks (N, 68, 2), got {landmarks.shape}")
    reference = _reference()
    out = np.full((len(landmarks), len(SHAPE_POINTS), 2), np.nan)
    for i, points in enumerate(landmarks):
        if not np.isfinite(points).all():
            continue
        fit = SimilarityTransform.from_estimate(points[list(STABLE)], reference[list(STABLE)])
        if fit:
            out[i] = fit(points[list(SHAPE_POINTS)])
    return out


def _gap(shapes: np.ndarray) -> np.ndarray:
    """Inner-lip gap (N,) of shapes: the mean of 61-67, 62-66, 63-65 vertically."""
    index = {point: i for i, point in enumerate(SHAPE_POINTS)}
    return np.mean([shapes[:, index[b], 1] - shapes[:, index[a], 1] for a, b in INNER_PAIRS], axis=0)


def deviations(shapes: np.ndarray) -> np.ndarray:
    """Shapes (N, P, 2) less the person's closed mouth (the median of the ``REST_SHARE`` of frames with the
    smallest inner-lip gap): the mouth's movement, not its build (lip thickness, width), so one person's
    mouth can be matched to another's, closed to closed, whether they talk with the mouth half open or not."""
    finite = np.isfinite(shapes).all(axis=(1, 2))
    if not finite.any():
        return shapes.copy()
    gaps = _gap(shapes[finite])
    closed = shapes[finite][gaps <= np.quantile(gaps, REST_SHARE)]
    return shapes - np.median(closed, axis=0)


def followed(source: np.ndarray, source_dev: np.ndarray, target_dev: np.ndarray, follow: float) -> np.ndarray:
    """A source shape (P, 2) moved ``follow`` of the way from its own deviation toward the target's: the
    actor's lips opened or closed part-way to the dubber's movement (0: unchanged, 1: the target's movement
    on the actor's build)."""
    return source + follow * (target_dev - source_dev)


def placed(shape: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """A pose-normalised shape (P, 2) put back into a face: the similarity of ``landmarks``' stable points
    from the mean face, applied to the shape."""
    fit = SimilarityTransform.from_estimate(_reference()[list(STABLE)], landmarks[list(STABLE)])
    if not fit:
        raise ValueError("landmarks are degenerate: no similarity transform fits them")
    return fit(shape)


def shape_distances(targets: np.ndarray, sources: np.ndarray, target_pose: np.ndarray | None = None,
                    source_pose: np.ndarray | None = None, pose_weight: float = 0.0) -> np.ndarray:
    """(T, S) mean point distance between target and source shapes, plus ``pose_weight`` times the
    head-pose difference (yaw and pitch, radians) when poses (T, 2) and (S, 2) are given; inf where a
    shape is missing."""
    diff = targets[:, None] - sources[None]  # (T, S, P, 2)
    distances = np.linalg.norm(diff, axis=-1).mean(axis=-1)
    if target_pose is not None and source_pose is not None and pose_weight:
        distances = distances + pose_weight * np.linalg.norm(target_pose[:, None] - source_pose[None], axis=-1)
    return np.where(np.isfinite(distances), distances, np.inf)


def choose_frames(distances: np.ndarray, jump_cost: float, candidates: int = 32) -> np.ndarray:
    """Source index for every target (T,): the cheapest path through each target's ``candidates`` nearest
    sources, where a step that is not "next source frame" costs ``jump_cost``. -1 where a target has none."""
    t_count, s_count = distances.shape
    if t_count == 0:
        return np.zeros(0, np.int64)
    k = max(1, min(candidates, s_count))
    options = np.argsort(distances, axis=1, kind="stable")[:, :k]  # (T, k)
    costs = np.take_along_axis(distances, options, axis=1)
    total = costs[0].copy()
    back = np.zeros((t_count, k), np.int64)
    for t in range(1, t_count):
        follows = options[t][None, :] == options[t - 1][:, None] + 1  # (k previous, k current)
        step = total[:, None] + np.where(follows, 0.0, jump_cost)
        back[t] = np.argmin(step, axis=0)
        total = step[back[t], np.arange(k)] + costs[t]
    path = np.zeros(t_count, np.int64)
    path[-1] = int(np.argmin(total))
    for t in range(t_count - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    chosen = options[np.arange(t_count), path]
    return np.where(np.isfinite(costs[np.arange(t_count), path]), chosen, -1)
