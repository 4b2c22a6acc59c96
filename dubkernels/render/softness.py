"""Blur a face drawn from one frame of a take to the softness of the frame it is drawn into.

A mouth drawn from another frame of the take carries that frame's focus and motion: sharp stubble laid
into a frame the camera blurred (a fast head turn, a focus pull) reads as pasted on, even where every
pixel outside the mouth is the plate's. Both frames are the same person's plate, so their skin around the
lips (stubble, moustache, pores: :func:`skin_box`) says how much softer the one is than the other: detail is
the variance of the Laplacian of the luma there (:func:`dubkernels.metrics.image.sharpness`, the measure the
report uses). Where the frame drawn into holds clearly less detail than the source frame, the source is
blurred with the Gaussian that brings its detail down to the frame's (found by bisection). A source softer
than the frame is left as it is: raising its fine detail (an unsharp mask) was tried and moved the report's
sharpness of pair A by 0.003 (docs/own_mouth_experiments.md): the drawn mouth's softness is not its source's.

Example:
    >>> sigma = matching_blur(source_rgb, source_skin, frame_rgb, frame_skin)
    >>> layer = blurred(drawn_rgba, sigma)
"""
from __future__ import annotations

import cv2
import numpy as np

from dubkernels.face.landmarks68 import OUTER_LIPS, interocular
from dubkernels.metrics.image import sharpness, skin_around_lips

MAX_SIGMA = 4.0  # pixels: the most blur looked for
TOLERANCE = 1.2  # a source up to this many times the frame's detail is left as it is (the measure's own noise)
MIN_PIXELS = 200  # fewer skin pixels than this say nothing of a frame's softness
SKIN_REACH_IOD = 0.35  # the skin box reaches this far beyond the outer lips (interocular distances)
LIP_MARGIN_IOD = 0.1  # ... and keeps this far from them
STEPS = 10  # bisection steps: sigma to MAX_SIGMA / 2**STEPS


def skin_box(landmarks: np.ndarray, size: tuple[int, int]) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """The box (x0, y0, x1, y1, plate pixels within ``size`` = (w, h)) around a face's lips and the (h, w) bool mask of
    its skin (away from the lips); None where the box leaves the plate."""
    lips = landmarks[list(OUTER_LIPS)]
    reach = SKIN_REACH_IOD * interocular(landmarks)
    x0, y0 = np.floor(lips.min(axis=0) - reach).astype(int)
    x1, y1 = np.ceil(lips.max(axis=0) + reach).astype(int)
    if x0 < 0 or y0 < 0 or x1 > size[0] or y1 > size[1]:
        return None
    keep = skin_around_lips((int(x1 - x0), int(y1 - y0)), (int(x0), int(y0)), [lips],
                            LIP_MARGIN_IOD * interocular(landmarks))
    return (int(x0), int(y0), int(x1), int(y1)), keep


def _detail(rgb: np.ndarray, keep: np.ndarray) -> float:
    """Detail of scene-linear ``rgb`` over ``keep``, measured near display values (a 2.2 power) as the eye sees it."""
    return sharpness(np.power(np.clip(rgb, 0.0, None), 1.0 / 2.2).astype(np.float32), keep)


def blurred(image: np.ndarray, sigma: float) -> np.ndarray:
    """``image`` (h, w, channels: RGB, or premultiplied RGBA) blurred by a Gaussian of ``sigma`` pixels (as it is
    for 0)."""
    return image if sigma <= 0 else cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def matching_blur(source: np.ndarray, source_keep: np.ndarray, frame: np.ndarray, frame_keep: np.ndarray) -> float:
    """The Gaussian sigma (pixels) that brings ``source``'s detail over ``source_keep`` down to ``frame``'s over
    ``frame_keep`` (scene-linear RGB, each with its own skin mask); 0 where the source is no sharper than
    :data:`TOLERANCE` times the frame, or either has too little skin to measure."""
    if source_keep.sum() < MIN_PIXELS or frame_keep.sum() < MIN_PIXELS:
        return 0.0
    wanted = _detail(frame, frame_keep)
    if not np.isfinite(wanted) or _detail(source, source_keep) <= TOLERANCE * wanted:
        return 0.0
    low, high = 0.0, MAX_SIGMA
    for _ in range(STEPS):
        mid = 0.5 * (low + high)
        if _detail(blurred(source, mid), source_keep) > wanted:
            low = mid
        else:
            high = mid
    return high
