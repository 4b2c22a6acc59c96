"""Aligned square face crops (256x256 by default) and their exact inverse for paste-back.

The crop is the similarity transform (rotation, uniform scale, translation)
that maps the stable landmarks (brows, nose, eyes: never jaw or lips) onto a
template made from the 3D mean face, so it does not follow the mouth.

Example:
    >>> crop = CropTransform.from_landmarks(landmarks)          # plate -> 256x256 crop
    >>> face = crop.warp(plate_rgb)                             # (256, 256, 3)
    >>> back, coverage = crop.paste(face, width, height)        # crop -> plate
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from skimage.transform import SimilarityTransform

from dubkernels.face.landmarks68 import STABLE, mean_face_3d

CROP_SIZE = 256
# Fraction of the crop the mean face's jaw-to-jaw width spans, and where its centre sits
# (template units; negative y is up, leaving room for the forehead).
FACE_WIDTH_FRACTION = 0.62
CENTRE_Y_UNITS = -14.0


@lru_cache(maxsize=8)
def template(size: int = CROP_SIZE) -> np.ndarray:
    """Where the 68 landmarks of a frontal mean face fall in a ``size`` crop: (68, 2)."""
    xy = mean_face_3d()[:, :2]
    scale = FACE_WIDTH_FRACTION * size / np.ptp(xy[:, 0])
    centre = np.array([(xy[:, 0].max() + xy[:, 0].min()) / 2.0, CENTRE_Y_UNITS])
    return (xy - centre) * scale + size / 2.0


@dataclass(frozen=True)
class CropTransform:
    """A 2x3 affine matrix from plate pixels to crop pixels, and the crop size."""

    matrix: np.ndarray
    size: int = CROP_SIZE

    @classmethod
    def from_landmarks(cls, landmarks: np.ndarray, size: int = CROP_SIZE) -> "CropTransform":
        """The similarity taking the stable landmarks onto the template."""
        idx = list(STABLE)
        tform = SimilarityTransform.from_estimate(landmarks[idx], template(size)[idx])
        if not tform:
            raise ValueError("landmarks are degenerate: no similarity transform fits them")
        return cls(np.asarray(tform.params[:2], dtype=np.float64), size)

    @property
    def inverse_matrix(self) -> np.ndarray:
        """2x3 matrix from crop pixels back to plate pixels."""
        return cv2.invertAffineTransform(self.matrix)

    @property
    def scale(self) -> float:
        """Crop pixels per plate pixel."""
        return float(np.sqrt(abs(np.linalg.det(self.matrix[:, :2]))))

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        return points @ self.matrix[:, :2].T + self.matrix[:, 2]

    def to_plate(self, points: np.ndarray) -> np.ndarray:
        inv = self.inverse_matrix
        return points @ inv[:, :2].T + inv[:, 2]

    def source_box(self) -> tuple[int, int, int, int]:
        """The plate pixels (x0, y0, x1, y1) :meth:`warp` reads, unclipped: the crop's corners padded for its filters."""
        corners = np.array([[0, 0], [self.size, 0], [0, self.size], [self.size, self.size]], np.float64)
        plate = self.to_plate(corners)
        pad = 2 + int(np.ceil(3.0 / max(self.scale, 1e-6)))
        x0, y0 = np.floor(plate.min(axis=0)).astype(int) - pad
        x1, y1 = np.ceil(plate.max(axis=0)).astype(int) + pad
        return int(x0), int(y0), int(x1), int(y1)

    def warp(self, image: np.ndarray, interpolation: int = cv2.INTER_CUBIC,
             origin: tuple[int, int] = (0, 0)) -> np.ndarray:
        """Resample a plate image into the crop (black outside the image).

        ``image`` covers the plate from pixel ``origin`` (x, y): the whole plate, or a region read
        around :meth:`source_box`. Only the part under the crop is touched; when the crop shrinks
        the face, that part is Gaussian-filtered first so the crop does not alias.
        """
        bx0, by0, bx1, by1 = self.source_box()
        ox, oy = origin
        x0, y0 = max(bx0 - ox, 0), max(by0 - oy, 0)
        x1, y1 = min(bx1 - ox, image.shape[1]), min(by1 - oy, image.shape[0])
        if x1 <= x0 or y1 <= y0:
            return np.zeros((self.size, self.size) + image.shape[2:], image.dtype)
        region = image[y0:y1, x0:x1]
        if self.scale < 1.0:
            sigma = 0.5 * (1.0 / self.scale - 1.0) + 1e-3
            region = cv2.GaussianBlur(region, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        matrix = self.matrix.copy()
        matrix[:, 2] += self.matrix[:, :2] @ np.array([x0 + ox, y0 + oy], np.float64)
        return cv2.warpAffine(region, matrix, (self.size, self.size), flags=interpolation, borderMode=cv2.BORDER_CONSTANT)

    def paste_box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The plate pixels (x0, y0, x1, y1) the crop covers, clipped to a (height, width) plate."""
        corners = np.array([[0, 0], [self.size, 0], [0, self.size], [self.size, self.size]], np.float64)
        plate = self.to_plate(corners)
        x0, y0 = np.maximum(np.floor(plate.min(axis=0)).astype(int) - 1, 0)
        x1 = min(int(np.ceil(plate[:, 0].max())) + 1, width)
        y1 = min(int(np.ceil(plate[:, 1].max())) + 1, height)
        return int(x0), int(y0), max(int(x1), int(x0)), max(int(y1), int(y0))

    def paste(self, crop: np.ndarray, width: int, height: int, interpolation: int = cv2.INTER_CUBIC,
              origin: tuple[int, int] = (0, 0)) -> tuple[np.ndarray, np.ndarray]:
        """Warp a crop back into a (height, width) image of the plate starting at pixel ``origin``
        (the whole plate, or its :meth:`paste_box`); returns (image, coverage 0..1)."""
        if crop.shape[:2] != (self.size, self.size):
            raise ValueError(f"crop is {crop.shape[:2]}, expected {(self.size, self.size)}")
        matrix = self.matrix.copy()
        matrix[:, 2] += self.matrix[:, :2] @ np.array(origin, np.float64)
        flags = interpolation | cv2.WARP_INVERSE_MAP  # sample the crop through the forward matrix
        image = cv2.warpAffine(crop, matrix, (width, height), flags=flags, borderMode=cv2.BORDER_CONSTANT)
        ones = np.ones((self.size, self.size), np.float32)
        coverage = cv2.warpAffine(ones, matrix, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        return image, coverage
