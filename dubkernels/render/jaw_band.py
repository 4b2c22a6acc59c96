"""The plate below a moved jaw, redrawn to meet it: no double chin.

OwnMouth draws another actor frame's mouth and jaw into the plate. Where that jaw sits higher than the plate's
(lips closed over a plate that laughs), the plate's own chin would show below the new one; where it sits lower,
the new chin would end above the plate's. ``render_band`` redraws a band of the plate below its jaw line with
the jaw: the plate's jaw line goes to the new one and the band's outer edge stays put, so the plate's neck and
collar follow the new chin, squeezed or stretched, with no edge between them.

Example:
    >>> rgb, alpha, window = render_band(plate_landmarks, new_landmarks, plate_rgb, origin, (width, height))
"""
from __future__ import annotations

import cv2
import numpy as np

from dubkernels.face.landmarks68 import interocular
from dubkernels.io.frames import Window
from dubkernels.render.raster import Raster, rasterize, region, texture_maps

JAW_LINE = tuple(range(3, 14))  # the lower face's outline, cheek to cheek under the chin
NOSE = tuple(range(27, 36))
BAND_DEPTH_IOD = 1.0  # how far below the jaw line the plate is moved with it, in interocular distances


def band_mesh(plate: np.ndarray, dest: np.ndarray, depth: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The band's vertices where they are drawn (2N, 2), where they sample the plate (2N, 2) and its triangles
    (2(N-1), 3): the jaw line of ``plate`` landmarks (68, 2) drawn at ``dest``'s, and the same line pushed out by
    ``depth`` pixels from the nose (drawn where it samples)."""
    if plate.shape != (68, 2) or dest.shape != (68, 2):
        raise ValueError(f"expected two (68, 2) landmark sets, got {plate.shape} and {dest.shape}")
    jaw = plate[list(JAW_LINE)]
    out = jaw - plate[list(NOSE)].mean(axis=0)
    outer = jaw + depth * out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
    n = len(JAW_LINE)
    triangles = np.array([t for i in range(n - 1) for t in ((i, i + 1, n + i + 1), (i, n + i + 1, n + i))], np.int32)
    return np.concatenate([dest[list(JAW_LINE)], outer]), np.concatenate([jaw, outer]), triangles


def render_band(plate: np.ndarray, dest: np.ndarray, texture: np.ndarray, origin: tuple[int, int],
                size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, Window]:
    """The plate region ``texture`` (an image region starting at pixel ``origin`` of the plate whose landmarks are
    ``plate``) below its jaw, drawn to meet the jaw of ``dest`` landmarks: (RGB, alpha, the plate window they
    cover). The band fades in over its outer half, so its edge never shows."""
    depth = BAND_DEPTH_IOD * interocular(plate)
    points, uv, triangles = band_mesh(plate, dest, depth)
    window = region(points, *size)
    raster = rasterize(points, np.zeros(len(points)), triangles, window)
    map_x, map_y = texture_maps(raster, uv, triangles)
    rgb = cv2.remap(texture, map_x - origin[0], map_y - origin[1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    outer_share = np.where(raster.triangle >= 0, _outer_share(raster, triangles, len(JAW_LINE)), 0.0)
    alpha = np.clip(2.0 * (1.0 - outer_share), 0.0, 1.0) * (raster.triangle >= 0)
    return rgb, alpha.astype(np.float32), window


def _outer_share(raster: Raster, triangles: np.ndarray, n: int) -> np.ndarray:
    """Per pixel, how far across the band it lies (0 at the jaw, 1 at the outer edge)."""
    tri = triangles[np.maximum(raster.triangle, 0)]
    return (raster.weights * (tri >= n)).sum(axis=2)
