"""dlib face detection and 68-point landmarks on 8-bit network-space images.

Detection runs on a downscaled copy of the frame (or on a small region around
the face tracked in the previous frame); landmarks run at full resolution on a
region around the detected box. Boxes are (x0, y0, x1, y1) in the pixel
coordinates of the image given.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import dlib
import numpy as np

from dubkernels.errors import FaceError
from dubkernels.face.models import CNN_DETECTOR, PREDICTOR_68, model_path

DETECTORS = ("hog", "cnn")


@dataclass(frozen=True)
class Detection:
    """A face box (x0, y0, x1, y1) and the detector's score."""

    box: tuple[float, float, float, float]
    score: float

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    def scaled(self, scale: float, dx: float = 0.0, dy: float = 0.0) -> "Detection":
        x0, y0, x1, y1 = self.box
        return Detection((x0 * scale + dx, y0 * scale + dy, x1 * scale + dx, y1 * scale + dy), self.score)


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def to_gray(rgb_u8: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb_u8, cv2.COLOR_RGB2GRAY)


class FaceDetector:
    """dlib frontal (HOG) or CNN (MMOD) detector plus the 68-point shape predictor."""

    def __init__(self, method: str = "hog", predictor: str | Path | None = None, cnn_model: str | Path | None = None):
        if method not in DETECTORS:
            raise FaceError(f"unknown detector '{method}'; choose one of {', '.join(DETECTORS)}.")
        self.method = method
        if method == "hog":
            self._hog = _hog_detector()
        else:
            self._cnn = _cnn_detector(str(model_path(CNN_DETECTOR, cnn_model)))
        self._predictor = _shape_predictor(str(model_path(PREDICTOR_68, predictor)))

    def detect(self, gray: np.ndarray, upsample: int = 0) -> list[Detection]:
        """Faces in an 8-bit grayscale image, best score first."""
        if self.method == "hog":
            rects, scores, _ = self._hog.run(gray, upsample, 0.0)
            found = [Detection(_rect_box(r), float(s)) for r, s in zip(rects, scores)]
        else:
            rgb = np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2))
            found = [Detection(_rect_box(d.rect), float(d.confidence)) for d in self._cnn(rgb, upsample)]
        return sorted(found, key=lambda d: -d.score)

    def landmarks(self, gray: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        """68 landmarks (68, 2) float64 for the face in ``box`` of an 8-bit grayscale image."""
        rect = dlib.rectangle(*(int(round(v)) for v in box))
        shape = self._predictor(gray, rect)
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)


@functools.lru_cache(maxsize=1)
def _hog_detector() -> dlib.fhog_object_detector:
    """dlib's frontal face detector, built once per process (half a second each time otherwise)."""
    return dlib.get_frontal_face_detector()


@functools.lru_cache(maxsize=4)
def _shape_predictor(path: str) -> dlib.shape_predictor:
    """The 68-point model, loaded once per process (about a second each time otherwise)."""
    return dlib.shape_predictor(path)


@functools.lru_cache(maxsize=2)
def _cnn_detector(path: str) -> dlib.cnn_face_detection_model_v1:
    return dlib.cnn_face_detection_model_v1(path)


def _rect_box(rect: "dlib.rectangle") -> tuple[float, float, float, float]:
    return (float(rect.left()), float(rect.top()), float(rect.right() + 1), float(rect.bottom() + 1))
