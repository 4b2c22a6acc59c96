"""How far a mouth may be warped, and the dark of a mouth a warp opens.

OwnMouth draws an actor frame's face with the dense mesh onto a new mouth shape. Pushed too far, the
mesh folds (a triangle turns over: the lips drawn twice, a broken lip corner) or stretches a few pixels
into streaks. ``warp_reach`` finds how much of the wanted change the mesh takes without either, so the
shape is followed only that far. A mouth opened wider than the source frame's shows, between the lips,
pixels the source never had: ``inner_mouth_cover`` says how much of the opening is new, and
``draw_inner_mouth`` paints it with the actor's own mouth-interior colour instead of stretched lip.

Example:
    >>> reach = warp_reach(source_landmarks, wanted_landmarks)   # 0..1
    >>> landmarks = source_landmarks + reach * (wanted_landmarks - source_landmarks)
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy.interpolate import make_interp_spline
from skimage.measure import points_in_poly

from dubkernels.face.landmarks68 import INNER_LIPS, interocular
from dubkernels.face.mesh import base_points, topology
from dubkernels.face.mouth_match import CLOSED_GAP, OPEN_GAP

MAX_STRETCH = 3.0  # a mesh triangle may grow to this many times its area, no more (beyond: streaks)
MIN_SQUASH = 0.02  # and shrink to this share, not turn over (a fold: lips drawn twice)
FLAT = -1e-3  # a triangle between the inner lips may close to nothing (lips meeting), not turn over
TINY_SHARE = 0.05  # triangles smaller than this share of the median one (a closed mouth's inside) may grow freely
REACH_STEPS = 8  # bisection steps of ``warp_reach`` (1/256 of the way)
SUBPIXEL_BITS = 4
DEEP_SHADE = 0.15  # the inside of an open mouth, away from the lips, as a share of the colour at the lips
SHADE_FALLOFF_PX = 1.0  # how fast the light at the lips falls off into the mouth
UPPER_INNER, LOWER_INNER = (60, 61, 62, 63, 64), (64, 65, 66, 67, 60)  # the inner lips, corner to corner
ARC_SAMPLES = 24  # points along each inner lip's curve


def _corners(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    topo = topology()
    points = topo.dense(base_points(landmarks))
    a, b, c = (points[topo.triangles[:, k]] for k in range(3))
    return a, b, c


def _areas(landmarks: np.ndarray) -> np.ndarray:
    """Signed areas of the dense mesh's triangles over a face's landmarks (68, 2)."""
    a, b, c = _corners(landmarks)
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def _inside_mouth(landmarks: np.ndarray) -> np.ndarray:
    """Which triangles lie between the inner lips (their centroid inside landmarks 60-67): closing the lips may
    flatten them to nothing."""
    a, b, c = _corners(landmarks)
    return points_in_poly((a + b + c) / 3.0, landmarks[list(INNER_LIPS)])


def _holds(source_areas: np.ndarray, landmarks: np.ndarray, tiny: float, mouth: np.ndarray) -> bool:
    ratio = _areas(landmarks) / np.where(np.abs(source_areas) > 0, source_areas, 1e-12)
    sized = np.abs(source_areas) >= tiny
    squash = np.where(mouth, FLAT, MIN_SQUASH)
    return bool((ratio > squash)[sized].all() and (ratio < MAX_STRETCH)[sized].all())


def warp_reach(source: np.ndarray, wanted: np.ndarray) -> float:
    """The largest share (0..1) of the way from ``source`` landmarks (68, 2) to ``wanted`` ones whose dense mesh
    keeps every triangle the right way round, no smaller than ``MIN_SQUASH`` (those between the inner lips may
    close to nothing) and no larger than ``MAX_STRETCH`` times (triangles of next to no area, the inside of closed
    lips, excepted: ``inner_mouth_cover`` answers for them)."""
    if source.shape != (68, 2) or wanted.shape != (68, 2):
        raise ValueError(f"expected two (68, 2) landmark sets, got {source.shape} and {wanted.shape}")
    source_areas, mouth = _areas(source), _inside_mouth(source)
    tiny = TINY_SHARE * float(np.median(np.abs(source_areas)))
    if _holds(source_areas, wanted, tiny, mouth):
        return 1.0
    low, high = 0.0, 1.0
    for _ in range(REACH_STEPS):
        middle = 0.5 * (low + high)
        if _holds(source_areas, source + middle * (wanted - source), tiny, mouth):
            low = middle
        else:
            high = middle
    return low


def _opening_area(points: np.ndarray) -> float:
    """Signed area of the inner lips' polygon (60-67: corner, upper lip, corner, lower lip; image y down): positive
    where the lower lip lies below the upper, negative where the detector crossed them (lips pressed together)."""
    x, y = points[:, 0], points[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def inner_mouth_cover(source: np.ndarray, dest: np.ndarray) -> float:
    """The share (0..1) of the opening between the ``dest`` lips that the ``source`` frame's own opening cannot
    fill (both (68, 2) landmarks, compared after scaling by the interocular distance): 0 where the source's
    mouth is as open or the dest's lips meet (a mean gap under ``CLOSED_GAP``, crossed inner lips included: the
    seam of closed lips is the source's own, not a painted line), 1 where the source is shut and the dest open."""
    def scaled_area(landmarks: np.ndarray) -> float:
        return max(_opening_area(landmarks[list(INNER_LIPS)]), 0.0) / max(interocular(landmarks) ** 2, 1e-12)

    wanted = scaled_area(dest)
    if wanted <= 0:
        return 0.0
    width = float(np.linalg.norm(dest[64] - dest[60])) / max(interocular(dest), 1e-12)
    parted = np.clip((wanted / max(width, 1e-9) - CLOSED_GAP) / (OPEN_GAP - CLOSED_GAP), 0.0, 1.0)  # a seam: none
    return float(parted * np.clip(1.0 - scaled_area(source) / wanted, 0.0, 1.0))


def _arc(points: np.ndarray) -> np.ndarray:
    """A smooth curve (ARC_SAMPLES, 2) through lip points (5, 2), corner to corner (a quadratic spline over their
    chord length): the lips' inner edge is round, not the landmarks' polygon."""
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    if steps.min() <= 1e-6:
        return points
    along = np.concatenate([[0.0], np.cumsum(steps)])
    return make_interp_spline(along, points, k=2)(np.linspace(0.0, along[-1], ARC_SAMPLES))


def inner_mouth_outline(dest: np.ndarray) -> list[np.ndarray]:
    """The opening between the inner lips of landmarks (68, 2) as polygons to fill: the landmarks' own polygon and
    the smooth curve through them (their union, so no stretched lip shows between a straight edge and the curve)."""
    polygon = dest[list(INNER_LIPS)]
    curve = np.concatenate([_arc(dest[list(UPPER_INNER)]), _arc(dest[list(LOWER_INNER)])])
    return [polygon, curve]


def draw_inner_mouth(rgba: np.ndarray, origin: tuple[int, int], dest: np.ndarray, colour: np.ndarray,
                     cover: float) -> np.ndarray:
    """Premultiplied RGBA (h, w, 4) at plate pixel ``origin`` with the opening between the ``dest`` inner lips
    painted ``colour`` (linear RGB, the actor's mouth interior) at the lips, darker deeper in, ``cover`` of the way,
    anti-aliased; a copy."""
    if cover <= 0:
        return rgba
    height, width = rgba.shape[:2]
    canvas = np.zeros((height, width), np.uint8)
    for outline in inner_mouth_outline(dest):
        shape = np.zeros_like(canvas)
        points = np.round((outline - origin) * (1 << SUBPIXEL_BITS)).astype(np.int32)
        cv2.fillPoly(shape, [points], 255, cv2.LINE_AA, SUBPIXEL_BITS)
        canvas = np.maximum(canvas, shape)
    weight = (canvas.astype(np.float32) / 255.0 * cover)[..., None]
    depth = cv2.distanceTransform((canvas > 0).astype(np.uint8), cv2.DIST_L2, 3)[..., None]
    shade = DEEP_SHADE + (1.0 - DEEP_SHADE) * np.exp(-depth / SHADE_FALLOFF_PX)  # lit at the lips, dark inside
    out = rgba.copy()
    alpha = out[..., 3:4]
    out[..., :3] = out[..., :3] * (1.0 - weight) + np.asarray(colour, np.float32) * shade * alpha * weight
    return out


def mouth_interior_colour(images: list[np.ndarray], landmarks: list[np.ndarray]) -> np.ndarray:
    """The actor's mouth-interior colour (3,): the median of the darkest fifth of the pixels between the inner lips
    (grown by 2 px, so a closed mouth's dark line counts) over ``images`` (h, w, 3 linear RGB, each at its
    ``landmarks`` (68, 2) in the image's pixels)."""
    samples = []
    for image, points in zip(images, landmarks):
        lips = np.zeros(image.shape[:2], np.uint8)
        cv2.fillPoly(lips, [np.round(points[list(INNER_LIPS)]).astype(np.int32)], 255)
        pixels = image[cv2.dilate(lips, np.ones((5, 5), np.uint8)) > 0]
        if len(pixels):
            luma = pixels @ np.array([0.2126, 0.7152, 0.0722])
            samples.append(pixels[luma <= np.quantile(luma, 0.2)])
    if not samples:
        raise ValueError("no mouth pixels to sample: no image with a mouth inside it")
    return np.median(np.concatenate(samples), axis=0).astype(np.float32)
