"""Pick, for every target mouth shape, the actor frame whose own mouth is nearest ("video rewrite").

A mouth shape is the mouth (48-67) and lower jaw (4-12) landmarks after a similarity that puts the
stable points (brows, nose, eyes) on the frontal mean face, in interocular distances: the same
shape gives the same numbers whatever the head's position, size or roll. Two people's mouths are
compared by their deviations from each one's closed mouth (the movement, not the lips' build).
Distances are mean point distances in interocular distances, plus a head-pose term so a turned
head does not lend its mouth to a frontal one.

Choosing frame by frame would jump between distant moments of the take; the choice is a shortest
path (dynamic programming over every actor frame) whose steps cost the mouth-shape distance, a closure
term (lips that meet where the dubber's meet), and a transition cost: following on to the next actor
frame is free, any other cut is charged, less where the two mouths agree. Runs of consecutive actor
frames carry natural motion, and the cuts fall where they show least.

Example:
    >>> shapes = mouth_shapes(actor_landmarks)            # (S, 29, 2)
    >>> d = shape_distances(deviations(mouth_shapes(targets)), deviations(shapes))  # (T, S)
    >>> picks = select_sequence(d, shape_distances(shapes, shapes))
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import cdist
from skimage.transform import SimilarityTransform

from dubkernels.face.align import template
from dubkernels.face.landmarks68 import MOUTH, STABLE

LOWER_JAW = tuple(range(4, 13))
SHAPE_POINTS = MOUTH + LOWER_JAW
INNER_PAIRS = ((61, 67), (62, 66), (63, 65))
LOWER_LIP = (55, 56, 57, 58, 59, 65, 66, 67)
CHIN = (6, 7, 8, 9, 10)
REST_SHARE = 0.2  # the share of a take's frames, least open, that stands for its closed mouth
# Lips that meet measure an inner gap of about 0-0.02 interocular distances with dlib: below CLOSED_GAP a mouth is
# closed, above OPEN_GAP open; between, on its way.
CLOSED_GAP = 0.025
OPEN_GAP = 0.05
# Parted lips drawn over a painted mouth interior need a wider gap than lips parted over teeth to read as open (to
# the eye and to the detector alike): a dark slit narrower than this passes for the seam of closed lips.
VISIBLE_GAP = 0.07
# Lips cannot pass through each other: inner lips read further past each other than CROSSED_GAP, or a gap further
# than TRACK_SLIP from its steadied neighbours' (a jump no lip makes in a frame), mean the detector lost the lips.
CROSSED_GAP = 0.03
TRACK_SLIP = 0.04


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


def inner_gap(shapes: np.ndarray) -> np.ndarray:
    """Inner-lip gap (N,) of shapes, in interocular distances: the mean of 61-67, 62-66, 63-65 vertically; near 0
    where the lips meet."""
    index = {point: i for i, point in enumerate(SHAPE_POINTS)}
    return np.mean([shapes[:, index[b], 1] - shapes[:, index[a], 1] for a, b in INNER_PAIRS], axis=0)


def mistracked(raw: np.ndarray, steady: np.ndarray) -> np.ndarray:
    """(N,) bool: frames whose lips the detector did not follow, from their shapes (N, P, 2) as tracked and
    steadied over time: inner lips crossed (lower above upper) or a gap that jumps away from its neighbours'. Such
    a frame's mouth is unknown: whether it shows closed lips or teeth, its landmarks do not say."""
    raw_gap, steady_gap = inner_gap(raw), inner_gap(steady)
    crossed = (raw_gap < -CROSSED_GAP) | (steady_gap < -CROSSED_GAP)
    return crossed | (np.abs(raw_gap - steady_gap) > TRACK_SLIP)


def deviations(shapes: np.ndarray) -> np.ndarray:
    """Shapes (N, P, 2) less the person's closed mouth (the median of the ``REST_SHARE`` of frames with the
    smallest inner-lip gap): the mouth's movement, not its build (lip thickness, width), so one person's
    mouth can be matched to another's, closed to closed, whether they talk with the mouth half open or not."""
    if not np.isfinite(shapes).all(axis=(1, 2)).any():
        return shapes.copy()
    return shapes - rest_shape(shapes)


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
    distances = np.zeros((len(targets), len(sources)))
    for point in range(targets.shape[1]):  # point by point: no (T, S, P, 2) array
        distances += cdist(targets[:, point], sources[:, point])
    distances /= targets.shape[1]
    if target_pose is not None and source_pose is not None and pose_weight:
        distances = distances + pose_weight * np.linalg.norm(target_pose[:, None] - source_pose[None], axis=-1)
    return np.where(np.isfinite(distances), distances, np.inf)


@dataclass(frozen=True)
class SelectionCosts:
    """The weights of the sequence selection (all in interocular distances of mouth shape)."""

    jump: float = 0.05  # any cut to a frame other than the next one
    cut_disagreement: float = 1.0  # times the distance between the mouth a cut leaves for and the one it skips
    hold: float = 0.02  # showing the same actor frame again (a still mouth)
    closure: float = 1.0  # times the gap to close (or to open) where the source's lips disagree with the target's
    motion: float = 1.0  # times the difference between a run's (or a hold's) frame-to-frame movement and the target's


@dataclass(frozen=True)
class StepMotion:
    """How each target step moves and how a run or a hold would move it (mean point distances, in interocular
    distances): a mouth that rests where the dubber's rests and moves where it moves."""

    run: np.ndarray  # (T, S): at target t, stepping from source s - 1 to s against the target's step t - 1 -> t
    hold: np.ndarray  # (T,): at target t, showing the same source again against the target's step


def step_motion(targets: np.ndarray, sources: np.ndarray) -> StepMotion:
    """The :class:`StepMotion` of target shapes (T, P, 2) and source shapes (S, P, 2); 0 where a shape is missing."""
    target_step = np.diff(targets, axis=0, prepend=targets[:1])  # (T, P, 2); none at t = 0
    source_step = np.diff(sources, axis=0, prepend=sources[:1])  # (S, P, 2): s - 1 -> s
    run = np.zeros((len(targets), len(sources)))
    for point in range(targets.shape[1]):
        run += cdist(target_step[:, point], source_step[:, point])
    run /= targets.shape[1]
    hold = np.linalg.norm(target_step, axis=-1).mean(axis=-1)
    return StepMotion(np.nan_to_num(run, nan=0.0, posinf=0.0), np.nan_to_num(hold, nan=0.0))


def closure_costs(target_gap: np.ndarray, source_gap: np.ndarray, closed: float, opened: float) -> np.ndarray:
    """(T, S) cost of a source's lips disagreeing with the target's: where the target's lips meet (gap < ``closed``)
    the source's gap beyond ``closed``, and the band between ``closed`` and ``opened`` for a source the detector does
    not read closed (such a frame often shows a slit or teeth its inner-lip points sit above, which a closure warp
    cannot shut); where they part (gap > ``opened``) the source's shortfall below ``opened``; in the band between,
    how far apart the two lie across the band (as :func:`honour_closure` closes a mouth there part-way)."""
    target, source = np.asarray(target_gap, np.float64)[:, None], np.asarray(source_gap, np.float64)[None, :]
    band = opened - closed
    shut = np.maximum(source - closed, 0.0) + np.where(source >= closed, band, 0.0)
    open_ = np.maximum(opened - source, 0.0)
    between = np.abs(np.clip(target - closed, 0.0, band) - np.clip(source - closed, 0.0, band))
    cost = np.where(target < closed, shut, np.where(target > opened, open_, between))
    return np.nan_to_num(cost, nan=0.0)


def select_sequence(cost: np.ndarray, between: np.ndarray, costs: SelectionCosts = SelectionCosts(),
                    motion: StepMotion | None = None) -> np.ndarray:
    """The source index for every target (T,): the cheapest path over all sources by dynamic programming.

    ``cost`` (T, S) is each target's cost of each source (shape and closure); ``between`` (S, S) the mouth-shape
    distance between two sources. Stepping from source p to p + 1 is free (the actor's own motion), to p again
    costs ``costs.hold``, and to any other s costs ``costs.jump + costs.cut_disagreement * between[p + 1, s]``:
    cuts are cheap where the mouth cut to agrees with the one the run would have shown. With ``motion``, a run
    step and a hold also cost ``costs.motion`` times how far their movement is from the target's step, so the
    mouth rests where the target rests. -1 where a target's costs are all infinite (no face).
    """
    cost = np.asarray(cost, np.float64)
    t_count, s_count = cost.shape
    if t_count == 0 or s_count == 0:
        return np.full(t_count, -1, np.int64)
    if between.shape != (s_count, s_count):
        raise ValueError(f"between must be ({s_count}, {s_count}), got {between.shape}")
    finite = np.isfinite(cost)
    step_cost = np.where(finite, cost, 0.0)  # a faceless target: any source, free (and reported as -1)
    after = np.vstack([between[1:], between[-1:]])  # after[p, s] = between[p + 1, s] (the last frame: itself)
    cut = costs.jump + costs.cut_disagreement * np.nan_to_num(after, nan=10.0, posinf=10.0)  # (p, s)
    np.fill_diagonal(cut, costs.hold)
    cut[np.arange(s_count - 1), np.arange(1, s_count)] = 0.0  # p -> p + 1: the actor's own motion
    total = step_cost[0].copy()
    back = np.zeros((t_count, s_count), np.int64)
    runs, holds = np.arange(s_count - 1), np.arange(s_count)
    for t in range(1, t_count):
        options = total[:, None] + cut  # (p, s)
        if motion is not None and costs.motion:
            options[runs, runs + 1] += costs.motion * motion.run[t, 1:]
            options[holds, holds] += costs.motion * motion.hold[t]
        back[t] = np.argmin(options, axis=0)
        total = options[back[t], np.arange(s_count)] + step_cost[t]
    path = np.zeros(t_count, np.int64)
    path[-1] = int(np.argmin(total))
    for t in range(t_count - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return np.where(finite.any(axis=1), path, -1)


def rest_shape(shapes: np.ndarray) -> np.ndarray:
    """A person's closed mouth (P, 2): the median of the ``REST_SHARE`` of frames with the smallest inner-lip gap."""
    finite = shapes[np.isfinite(shapes).all(axis=(1, 2))]
    if not len(finite):
        raise ValueError("no finite mouth shape")
    gaps = inner_gap(finite)
    return np.median(finite[gaps <= np.quantile(gaps, REST_SHARE)], axis=0)


def honour_closure(shape: np.ndarray, target_gap: float, rest_gap: float) -> np.ndarray:
    """A shape whose lips meet where the target's meet (the gap brought down to ``rest_gap``, the person's own closed
    mouth) and part where the target's part: at least as wide as the target's gap and ``VISIBLE_GAP`` (the warp's
    reach and the painted mouth interior of :mod:`dubkernels.face.mouth_warp` keep that free of streaks). Between
    ``CLOSED_GAP`` and ``OPEN_GAP`` the lips go part-way from the one to the other, so a target gap that hovers at a
    threshold does not flick the lips shut and open."""
    gap = float(inner_gap(shape[None])[0])
    shut = min(gap, rest_gap)
    parted = max(gap, target_gap, VISIBLE_GAP)
    share = float(np.clip((target_gap - CLOSED_GAP) / (OPEN_GAP - CLOSED_GAP), 0.0, 1.0))
    wanted = (1.0 - share) * shut + share * parted
    return closed_to(shape, wanted) if not np.isclose(wanted, gap) else shape


def closed_to(shape: np.ndarray, gap: float) -> np.ndarray:
    """A shape (P, 2) with its lower lip (inner and outer) moved so the inner lips' gap is ``gap`` (the chin goes
    half as far): lips closed, or opened, without moving the upper lip."""
    out = shape.copy()
    move = gap - float(inner_gap(shape[None])[0])
    index = {point: i for i, point in enumerate(SHAPE_POINTS)}
    out[[index[p] for p in LOWER_LIP], 1] += move
    out[[index[p] for p in CHIN], 1] += 0.5 * move
    return out


def transitions(picks: np.ndarray, frames: int, length: int) -> dict[int, tuple[int, int, float]]:
    """Where the selection cuts from one run of source frames to another, the targets around the cut that blend the
    two runs: target index -> (source of the run before, carried on; source of the run after, started early;
    weight of the second, rising over ``length`` targets). A cut is blended only where both runs are at least
    that long around it and the carried-on sources exist (indices below ``frames``)."""
    out: dict[int, tuple[int, int, float]] = {}
    if length < 2:
        return out
    before, after = length // 2, length - length // 2
    for i in range(1, len(picks)):
        a, b = int(picks[i - 1]), int(picks[i])
        if a < 0 or b < 0 or b in (a, a + 1):
            continue
        window = range(i - before, i + after)
        if window.start < 0 or window.stop > len(picks):
            continue
        run_a = all(picks[j] == a - (i - 1 - j) for j in window if j < i)
        run_b = all(picks[j] == b + (j - i) for j in window if j >= i)
        sources_a, sources_b = [a + (j - i + 1) for j in window], [b + (j - i) for j in window]
        if not (run_a and run_b and min(sources_b) >= 0 and max(sources_a) < frames):
            continue
        if any(j in out for j in window):  # the previous cut's blend reaches here: a plain cut
            continue
        for k, j in enumerate(window):
            out[j] = (sources_a[k], sources_b[k], (k + 1) / (length + 1))
    return out
