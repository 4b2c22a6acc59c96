"""Face and mouth masks from 68 landmarks, grown and feathered relative to face size.

Sizes are fractions of the interocular distance (IOD), so the same settings
work for a face 100 px wide and one 1000 px wide. A mask is computed only over
the region it can touch and returned with that region's window.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from dubkernels.face.landmarks68 import BROWS, JAW, OUTER_LIPS, interocular
from dubkernels.io.frames import Window

LOWER_JAW = tuple(range(5, 12))  # jaw points below the mouth, chin in the middle

_SUBPIXEL_BITS = 4


@dataclass
class Mask:
    """A float32 mask in 0..1 over ``window`` (plate pixel coordinates)."""

    values: np.ndarray
    window: Window

    def full(self, width: int, height: int) -> np.ndarray:
        """The mask pasted into a (height, width) zero image."""
        return self.over(Window(0, 0, width, height))

    def over(self, region: Window) -> np.ndarray:
        """The mask's values over plate window ``region`` (0 where it does not reach)."""
        out = np.zeros((region.height, region.width), np.float32)
        w = self.window
        x0, y0 = max(w.x, region.x), max(w.y, region.y)
        x1, y1 = min(w.x_end, region.x_end), min(w.y_end, region.y_end)
        if x1 > x0 and y1 > y0:
            out[y0 - region.y : y1 - region.y, x0 - region.x : x1 - region.x] = \
                self.values[y0 - w.y : y1 - w.y, x0 - w.x : x1 - w.x]
        return out


def face_polygon(landmarks: np.ndarray, forehead: float = 0.6) -> np.ndarray:
    """Jaw line plus the brows raised by ``forehead`` x IOD towards the top of the head."""
    brows = landmarks[list(BROWS)]
    up = brows.mean(axis=0) - landmarks[8]
    up /= np.linalg.norm(up) or 1.0
    raised = brows + up * forehead * interocular(landmarks)
    return np.concatenate([landmarks[list(JAW)], raised[::-1]])


def mouth_polygon(landmarks: np.ndarray, chin: bool = False) -> np.ndarray:
    """The outer lip contour; with ``chin``, and the lower jaw line (the region whose shape follows the mouth)."""
    lips = landmarks[list(OUTER_LIPS)]
    return np.concatenate([lips, landmarks[list(LOWER_JAW)]]) if chin else lips


def polygon_mask(polygon: np.ndarray, grow_px: float = 0.0, feather_px: float = 0.0) -> Mask:
    """Rasterise the convex hull of ``polygon``, grow (or shrink, negative) it and feather it.

    ``feather_px`` is the Gaussian sigma. The returned window covers every pixel the mask can reach.
    """
    hull = cv2.convexHull(polygon.astype(np.float32)).reshape(-1, 2)
    margin = int(np.ceil(max(grow_px, 0.0) + 3.0 * feather_px)) + 2
    x0, y0 = np.floor(hull.min(axis=0)).astype(int) - margin
    x1, y1 = np.ceil(hull.max(axis=0)).astype(int) + margin + 1
    canvas = np.zeros((y1 - y0, x1 - x0), np.uint8)
    pts = np.round((hull - (x0, y0)) * (1 << _SUBPIXEL_BITS)).astype(np.int32)
    cv2.fillPoly(canvas, [pts], 255, cv2.LINE_AA, _SUBPIXEL_BITS)
    if abs(grow_px) >= 0.5:
        radius = int(round(abs(grow_px)))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        canvas = cv2.dilate(canvas, kernel) if grow_px > 0 else cv2.erode(canvas, kernel)
    values = canvas.astype(np.float32) / 255.0
    if feather_px > 0:
        values = np.asarray(cv2.GaussianBlur(values, (0, 0), feather_px, borderType=cv2.BORDER_CONSTANT))
    return Mask(values, Window(int(x0), int(y0), int(x1 - x0), int(y1 - y0)))


def face_mask(landmarks: np.ndarray, grow: float = 0.0, feather: float = 0.1) -> Mask:
    """Face mask: jaw and forehead, grow and feather as fractions of the IOD."""
    iod = interocular(landmarks)
    return polygon_mask(face_polygon(landmarks), grow * iod, feather * iod)


def mouth_mask(landmarks: np.ndarray, grow: float = 0.15, feather: float = 0.1, chin: bool = False) -> Mask:
    """Mouth mask: outer lips (and with ``chin`` the chin down to the jaw line), grown and feathered as
    fractions of the IOD."""
    iod = interocular(landmarks)
    return polygon_mask(mouth_polygon(landmarks, chin), grow * iod, feather * iod)
