"""A texture drawn with the dense face mesh: what PoseAlign and OwnMouth render."""
from __future__ import annotations

import cv2
import numpy as np

from dubkernels.face.mesh import topology
from dubkernels.io.frames import Window
from dubkernels.render.raster import coverage, rasterize, region, texture_maps


def render_face(dest: np.ndarray, depth: np.ndarray, uv: np.ndarray, texture: np.ndarray, origin: tuple[int, int],
                size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, Window]:
    """Draw ``texture`` (an image region starting at pixel ``origin`` of its plate) with the dense mesh whose
    vertices sit at ``dest`` (plate pixels, ``size`` = (width, height)) with ``depth``, sampled at ``uv``.

    Returns (RGB, alpha = the mesh's anti-aliased coverage, the plate window they cover).
    """
    topo = topology()
    window = region(dest, *size)
    raster = rasterize(dest, depth, topo.triangles, window)
    map_x, map_y = texture_maps(raster, uv, topo.triangles)
    rgb = cv2.remap(texture, map_x - origin[0], map_y - origin[1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT)
    alpha = coverage(dest[topo.outline], window) * (raster.triangle >= 0)
    return rgb, alpha, window
