"""A blend of two images of the same thing along its motion: optical flow between them, each warped part-way
toward the other, then mixed (a morph, not a cross-fade of unaligned pixels).

Example:
    >>> middle = flow_morph(layer_a, layer_b, 0.5)   # two RGBA layers of one mouth, drawn to the same shape
"""
from __future__ import annotations

import cv2
import numpy as np

FLOW_LEVELS = 3
FLOW_WINDOW = 15
FLOW_ITERATIONS = 3


def _grey(rgba: np.ndarray) -> np.ndarray:
    """8-bit grey of a linear RGB(A) layer, square-root encoded so dark detail (beard, mouth) carries the flow."""
    luma = rgba[..., :3] @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    return np.clip(np.sqrt(np.maximum(luma, 0.0)) * 255.0, 0, 255).astype(np.uint8)


def motion(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dense flow (H, W, 2) from ``a`` to ``b``: ``a`` at x looks like ``b`` at x + flow(x) (Farnebäck)."""
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    return cv2.calcOpticalFlowFarneback(_grey(a), _grey(b), None, 0.5, FLOW_LEVELS, FLOW_WINDOW, FLOW_ITERATIONS,
                                        5, 1.1, 0)


def _shifted(image: np.ndarray, flow: np.ndarray, scale: float) -> np.ndarray:
    """``image`` sampled at x + scale * flow(x) (cubic; edges repeat)."""
    h, w = image.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, xs + scale * flow[..., 0], ys + scale * flow[..., 1], cv2.INTER_CUBIC,
                     borderMode=cv2.BORDER_REPLICATE)


def flow_morph(a: np.ndarray, b: np.ndarray, weight: float, flow: np.ndarray | None = None) -> np.ndarray:
    """The image ``weight`` of the way from ``a`` (0) to ``b`` (1) along their motion: ``a`` moved ``weight`` of
    the flow forward, ``b`` moved the rest of it back, mixed by ``weight``. Float images (H, W, C) of one shape."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be within 0..1, got {weight}")
    if weight == 0.0:
        return a.copy()
    if weight == 1.0:
        return b.copy()
    flow = motion(a, b) if flow is None else flow
    moved_a = _shifted(a, flow, -weight)
    moved_b = _shifted(b, flow, 1.0 - weight)
    return ((1.0 - weight) * moved_a + weight * moved_b).astype(a.dtype)
