"""Register a face drawn from another frame of the take onto the plate, by the image of the nose.

OwnMouth draws an actor frame's face where the landmarks of the frame drawn into say the face is. Landmarks are
a detector's guess, steadied over a few frames: on a sharp frame they sit within a few pixels of the face, on a
fast head turn's motion blur up to ten. The mouth mask reaches the nostrils and the moustache, so a face drawn a
few pixels off shows there twice: a second nostril, a lip line above the plate's. The nose is rigid with the head
and looks alike in every frame of the take (the mouth, the upper lip and the moustache move with the line, so they
are left out), so the offset between the drawn nose and the plate's is the drawn face's error. It is found by
enhanced correlation (OpenCV's ECC, translation only, coarse to fine) on the luma of the two; OwnMouth then draws
the face again that much further (one warp from the source frame, as sharp as before).

Example:
    >>> box = nose_box(landmarks, (width, height))
    >>> move = misregistration(drawn_rgb, plate_rgb, iod)   # (dx, dy) plate pixels to move the drawn face, or None
"""
from __future__ import annotations

import cv2
import numpy as np

from dubkernels.face.landmarks68 import interocular

NOSE_WIDTH_IOD = 0.25  # the box reaches this far beside the nostrils (31, 35)
NOSE_DEPTH_IOD = 0.12  # ... and this far below the nose's base (33): the nostrils' dark, no lip
MAX_MOVE_IOD = 0.15  # a larger offset is no registration error but a failed match: left as drawn
MIN_CORRELATION = 0.8  # ECC's correlation coefficient below this: no reliable match
SMOOTHING_PX = (3.0, 1.0)  # both images blurred this much, coarse to fine: a wide reach, then the fine detail
ITERATIONS, EPSILON = 50, 1e-4


def nose_box(landmarks: np.ndarray, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The box (x0, y0, x1, y1) around the nose of a face's landmarks (68, 2): from the middle of the bridge (28)
    to just below the nostrils, and beside them; None where it leaves the plate of ``size`` (w, h)."""
    iod = interocular(landmarks)
    x0 = int(np.floor(landmarks[31, 0] - NOSE_WIDTH_IOD * iod))
    x1 = int(np.ceil(landmarks[35, 0] + NOSE_WIDTH_IOD * iod))
    y0 = int(np.floor(landmarks[28, 1]))
    y1 = int(np.ceil(landmarks[33, 1] + NOSE_DEPTH_IOD * iod))
    if x0 < 0 or y0 < 0 or x1 > size[0] or y1 > size[1] or x1 - x0 < 8 or y1 - y0 < 8:
        return None
    return x0, y0, x1, y1


def _luma(rgb: np.ndarray) -> np.ndarray:
    """Display-like luma (a 2.2 power of scene-linear RGB)."""
    return (np.power(np.clip(rgb, 0.0, None), 1.0 / 2.2) @ np.array([0.2126, 0.7152, 0.0722], np.float32)).astype(
        np.float32)


def misregistration(drawn: np.ndarray, plate: np.ndarray, iod: float) -> tuple[float, float] | None:
    """How far (dx, dy, plate pixels) to move a ``drawn`` face so its nose meets the ``plate``'s (both (h, w, 3)
    scene-linear RGB over the same nose box; ``iod`` the face's interocular distance); None where the two do not
    match reliably (ECC fails, correlates under ``MIN_CORRELATION`` or finds more than ``MAX_MOVE_IOD``)."""
    if drawn.shape != plate.shape or drawn.ndim != 3 or drawn.shape[2] != 3:
        raise ValueError(f"expected two (h, w, 3) images of one size, got {drawn.shape} and {plate.shape}")
    warp: np.ndarray = np.eye(2, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, ITERATIONS, EPSILON)
    plate_luma, drawn_luma = _luma(plate), _luma(drawn)
    everywhere = np.full(plate_luma.shape, 255, np.uint8)
    correlation = 0.0
    for sigma in SMOOTHING_PX:
        try:
            correlation, warp = cv2.findTransformECC(cv2.GaussianBlur(plate_luma, (0, 0), sigma),
                                                     cv2.GaussianBlur(drawn_luma, (0, 0), sigma), warp,
                                                     cv2.MOTION_TRANSLATION, criteria, everywhere, 1)
        except cv2.error:  # flat images, or no convergence
            return None
    move = (-float(warp[0, 2]), -float(warp[1, 2]))  # the drawn nose at x + t shows the plate's at x
    if correlation < MIN_CORRELATION or np.hypot(*move) > MAX_MOVE_IOD * iod:
        return None
    return move
