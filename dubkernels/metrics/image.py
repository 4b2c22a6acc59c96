"""Image metrics against the actor plate: localisation, PSNR, SSIM, sharpness, flicker.

Images are float32 arrays (H, W, 3) in network space (sRGB-encoded 0..1, as a viewer shows
them), except :func:`changed_outside` which compares the raw pixel bits of whole frames.
"""
from __future__ import annotations

import cv2
import numpy as np
from skimage.metrics import structural_similarity

from dubkernels.io.frames import Frame, Window


def _inside(window: Window, mask: Frame) -> np.ndarray:
    """Where ``mask`` > 0, over a part's data ``window``: (H, W) bool."""
    out = np.zeros((window.height, window.width), bool)
    mw = mask.data_window
    x0, y0 = max(mw.x, window.x), max(mw.y, window.y)
    x1, y1 = min(mw.x_end, window.x_end), min(mw.y_end, window.y_end)
    if x1 > x0 and y1 > y0:
        values = mask.pixels[y0 - mw.y : y1 - mw.y, x0 - mw.x : x1 - mw.x, 0]
        out[y0 - window.y : y1 - window.y, x0 - window.x : x1 - window.x] = values > 0
    return out


def changed_outside(a0: Frame, result: Frame, mask: Frame) -> int:
    """Pixels outside ``mask`` (> 0) where any channel of any part of ``result`` differs from ``a0``, bit for bit.

    A result covering only a region of A0's main part (a face-extent intermediate) is compared over that
    region. A result whose parts, windows or pixel types differ from A0's otherwise counts every one of its pixels.
    """
    if len(result.parts) == 1 and _within(result.data_window, a0.data_window) and result.data_window != a0.data_window:
        main, region = a0.parts[0], result.data_window
        if main.pixels.dtype != result.pixels.dtype or main.pixels.shape[2] != result.pixels.shape[2]:
            return region.width * region.height
        rows = slice(region.y - main.spec.y, region.y_end - main.spec.y)
        cols = slice(region.x - main.spec.x, region.x_end - main.spec.x)
        differs = (_bits(main.pixels[rows, cols]) != _bits(result.pixels)).any(axis=-1)
        return int((differs & ~_inside(region, mask)).sum())
    if len(a0.parts) != len(result.parts):
        return sum(p.pixels.shape[0] * p.pixels.shape[1] for p in result.parts)
    count = 0
    for pa, pr in zip(a0.parts, result.parts):
        if pa.pixels.shape != pr.pixels.shape or pa.pixels.dtype != pr.pixels.dtype or (pa.spec.x, pa.spec.y) != (
                pr.spec.x, pr.spec.y):
            count += pr.pixels.shape[0] * pr.pixels.shape[1]
            continue
        differs = (_bits(pa.pixels) != _bits(pr.pixels)).any(axis=-1)
        window = Window(pa.spec.x, pa.spec.y, pa.spec.width, pa.spec.height)
        count += int((differs & ~_inside(window, mask)).sum())
    return count


def _bits(pixels: np.ndarray) -> np.ndarray:
    """The bytes of each pixel: (height, width, bytes)."""
    return np.ascontiguousarray(pixels).view(np.uint8).reshape(*pixels.shape[:2], -1)


def _within(inner: Window, outer: Window) -> bool:
    return inner.x >= outer.x and inner.y >= outer.y and inner.x_end <= outer.x_end and inner.y_end <= outer.y_end


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two 0..1 images (inf when identical)."""
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    mse = float(np.mean((np.clip(a, 0, 1).astype(np.float64) - np.clip(b, 0, 1)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def luma(rgb: np.ndarray) -> np.ndarray:
    """Rec.709 luma of an sRGB-encoded image (H, W)."""
    return np.clip(rgb, 0, 1) @ np.array([0.2126, 0.7152, 0.0722], np.float32)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of the luma of two 0..1 images (7x7 window; 1 when identical)."""
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if min(a.shape[:2]) < 7:
        return float("nan")
    return float(structural_similarity(luma(a), luma(b), data_range=1.0))


def sharpness(rgb: np.ndarray, keep: np.ndarray | None = None) -> float:
    """Variance of the Laplacian of the luma (higher: more fine detail), over the pixels ``keep`` (an (h, w) bool
    mask) where given; NaN where it keeps none."""
    laplacian = cv2.Laplacian(luma(rgb).astype(np.float32), cv2.CV_32F)
    if keep is None:
        return float(laplacian.var())
    if keep.shape != laplacian.shape:
        raise ValueError(f"keep mask {keep.shape} does not match the image {laplacian.shape}")
    return float(laplacian[keep].var()) if keep.any() else float("nan")


def skin_around_lips(size: tuple[int, int], origin: tuple[int, int], lips: list[np.ndarray], margin: float) -> np.ndarray:
    """(h, w) bool mask of a box (``size`` = (w, h) at plate pixel ``origin``) outside every outer-lip polygon of
    ``lips`` (each (12, 2) plate pixels, landmarks 48-59) grown by ``margin`` pixels: the skin, stubble and
    moustache around the mouth, whose fine detail a blur removes and a new mouth shape does not change."""
    width, height = size
    keep = np.full((height, width), 255, np.uint8)
    for outline in lips:
        if np.isfinite(outline).all():
            cv2.fillPoly(keep, [np.round(outline - origin).astype(np.int32)], 0)
    reach = 2 * int(round(margin)) + 1
    return cv2.erode(keep, np.ones((reach, reach), np.uint8)) > 0


def flicker(boxes: list[np.ndarray], pairs: np.ndarray | None = None) -> float:
    """Mean absolute frame-to-frame change of a region (list of same-size images), over the consecutive pairs
    ``pairs`` keeps (bool, one per pair) where given; NaN without a pair."""
    keep = np.ones(max(len(boxes) - 1, 0), bool) if pairs is None else np.asarray(pairs, bool)
    if len(keep) != max(len(boxes) - 1, 0):
        raise ValueError(f"{len(keep)} pair flags for {len(boxes)} images")
    changes = [np.abs(b.astype(np.float64) - a).mean() for a, b, k in zip(boxes, boxes[1:], keep) if k]
    return float(np.mean(changes)) if changes else float("nan")
