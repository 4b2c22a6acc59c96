"""Index groups of the iBUG 300-W 68-point landmark scheme and the 3D mean face."""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np

JAW = tuple(range(0, 17))
BROWS = tuple(range(17, 27))
NOSE = tuple(range(27, 36))
RIGHT_EYE = tuple(range(36, 42))  # the subject's right eye, on screen left
LEFT_EYE = tuple(range(42, 48))
OUTER_LIPS = tuple(range(48, 60))
INNER_LIPS = tuple(range(60, 68))
MOUTH = OUTER_LIPS + INNER_LIPS
# Points that do not move with speech: brows, nose, eyes (no jaw, no lips), so an
# aligned crop stays still while the mouth moves.
STABLE = BROWS + NOSE + RIGHT_EYE + LEFT_EYE
# Points used for head pose: everything but the mouth.
POSE = JAW + STABLE


@lru_cache(maxsize=1)
def mean_face_3d() -> np.ndarray:
    """The public 68-point 3D mean face, (68, 3) float64: x right, y down, z away from the camera."""
    text = resources.files("dubkernels.face").joinpath("data/mean_face_68.csv").read_text()
    rows = [line for line in text.splitlines() if line and not line.startswith("#")][1:]
    points = np.array([[float(v) for v in row.split(",")] for row in rows])
    assert points.shape == (68, 3), points.shape
    return points


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the subject's right and left eyes."""
    return landmarks[list(RIGHT_EYE)].mean(axis=0), landmarks[list(LEFT_EYE)].mean(axis=0)


def interocular(landmarks: np.ndarray) -> float:
    """Distance between the eye centres: the face-size unit for feathers, growth and errors."""
    right, left = eye_centres(landmarks)
    return float(np.linalg.norm(left - right))
