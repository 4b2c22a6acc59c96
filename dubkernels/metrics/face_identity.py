"""Who a face is: dlib's 128-D face-recognition ResNet descriptor (face-recognition-models ships it).

Descriptors of the same person lie within about 0.6 of each other (dlib's threshold); the
report asks that the dub stays nearer the actor than the dubber.
"""
from __future__ import annotations

from functools import lru_cache

import dlib
import numpy as np

from dubkernels.face.models import model_path

RECOGNITION_MODEL = "dlib_face_recognition_resnet_model_v1.dat"


@lru_cache(maxsize=1)
def _model() -> "dlib.face_recognition_model_v1":
    return dlib.face_recognition_model_v1(str(model_path(RECOGNITION_MODEL)))


def descriptor(rgb_u8: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The 128-D descriptor of the face at ``landmarks`` (68, 2) in an 8-bit RGB image."""
    if rgb_u8.dtype != np.uint8 or rgb_u8.ndim != 3 or rgb_u8.shape[2] != 3:
        raise ValueError(f"expected an 8-bit RGB image, got {rgb_u8.dtype} {rgb_u8.shape}")
    x0, y0 = np.floor(landmarks.min(axis=0)).astype(int)
    x1, y1 = np.ceil(landmarks.max(axis=0)).astype(int)
    points = dlib.points([dlib.point(int(round(x)), int(round(y))) for x, y in landmarks])
    shape = dlib.full_object_detection(dlib.rectangle(int(x0), int(y0), int(x1), int(y1)), points)
    return np.asarray(_model().compute_face_descriptor(np.ascontiguousarray(rgb_u8), shape))


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance of two descriptors."""
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))
