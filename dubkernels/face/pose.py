"""Head pose per frame: cv2.solvePnP of the landmarks against the 3D mean face."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from dubkernels.face.landmarks68 import POSE, mean_face_3d


@dataclass(frozen=True)
class HeadPose:
    """Rotation (Rodrigues vector) and translation of the mean face in camera space, plus Euler angles."""

    rvec: tuple[float, float, float]
    tvec: tuple[float, float, float]
    yaw: float
    pitch: float
    roll: float

    def as_dict(self) -> dict:
        return {"rvec": list(self.rvec), "tvec": list(self.tvec), "yaw": self.yaw, "pitch": self.pitch, "roll": self.roll}


def camera_matrix(width: int, height: int) -> np.ndarray:
    """A pinhole camera for an image of this size: focal length = the longer side, centred."""
    f = float(max(width, height))
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


def estimate_head_pose(landmarks: np.ndarray, width: int, height: int) -> HeadPose:
    """Pose of the mean face that best explains ``landmarks`` (68, 2) in an image of this size."""
    if landmarks.shape != (68, 2):
        raise ValueError(f"expected (68, 2) landmarks, got {landmarks.shape}")
    model = mean_face_3d()[list(POSE)]
    image = landmarks[list(POSE)].astype(np.float64)
    cam = camera_matrix(width, height)
    span_px = np.ptp(image[:, 0]) or 1.0
    z_guess = cam[0, 0] * np.ptp(model[:, 0]) / span_px
    centre = (image.mean(axis=0) - cam[:2, 2]) * z_guess / cam[0, 0]
    guess_r = np.zeros((3, 1))
    guess_t = np.array([[centre[0]], [centre[1]], [z_guess]])
    _, rvec, tvec = cv2.solvePnP(model, image, cam, None, guess_r, guess_t, True, cv2.SOLVEPNP_ITERATIVE)
    rotation, _ = cv2.Rodrigues(np.asarray(rvec))
    (pitch, yaw, roll), *_ = cv2.RQDecomp3x3(rotation)
    r, t = np.asarray(rvec, np.float64).ravel(), np.asarray(tvec, np.float64).ravel()
    return HeadPose(
        (float(r[0]), float(r[1]), float(r[2])), (float(t[0]), float(t[1]), float(t[2])),
        float(yaw), float(pitch), float(roll),
    )


def project_mean_face(pose: HeadPose, width: int, height: int) -> np.ndarray:
    """Project the 3D mean face with ``pose``: (68, 2) image points."""
    points, _ = cv2.projectPoints(
        mean_face_3d(), np.array(pose.rvec), np.array(pose.tvec), camera_matrix(width, height), None
    )
    return points.reshape(68, 2)
