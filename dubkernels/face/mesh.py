"""A dense face mesh from 68 landmarks and the 3D mean face.

Base vertices are the 68 landmarks plus ten forehead points above the brows.
The topology is fixed (a Delaunay triangulation of the mean face's frontal
projection, subdivided once), so a vertex means the same place on every face
and every frame; it has triangles across the lips (as PRNet bridges them) so
the teeth and tongue travel with the texture. Depth comes from the 3D mean face
fitted to the frame (pose and scale by solvePnP, depth per vertex).

Re-posing lifts one face's vertices to 3D, takes them into the mean face's
frame, and projects them with another face's pose, then snaps the result onto
that face's stable landmarks with a 2D similarity.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from scipy.spatial import Delaunay
from skimage.transform import SimilarityTransform

from dubkernels.face.landmarks68 import BROWS, JAW, LEFT_EYE, RIGHT_EYE, STABLE, mean_face_3d
from dubkernels.face.masks import face_polygon
from dubkernels.face.pose import HeadPose, camera_matrix

FOREHEAD_RAISE = 0.6  # forehead points sit this many interocular distances above the brows
FOREHEAD_DEPTH = 6.0  # and this far behind them in mean-face units (the forehead slopes back)
N_BASE = 78
FOREHEAD = range(68, N_BASE)  # base vertices above brows 17..26


@dataclass(frozen=True)
class MeshTopology:
    """Triangles over the dense vertices and the weights making dense vertices from the 78 base points."""

    weights: np.ndarray  # (n_dense, 78); the first 78 rows are the identity
    triangles: np.ndarray  # (n_triangles, 3) int32
    outline: np.ndarray  # base-vertex indices of the mesh silhouette, in order

    def dense(self, base: np.ndarray) -> np.ndarray:
        """Dense vertex attributes from base ones: (78, k) -> (n_dense, k)."""
        return self.weights @ base


def base_points(landmarks: np.ndarray) -> np.ndarray:
    """The 78 base vertices of a face in its image: the landmarks and the forehead points."""
    outline = face_polygon(landmarks, FOREHEAD_RAISE)
    forehead = outline[len(JAW):][::-1]  # raised brows, back in brow order 17..26
    return np.concatenate([landmarks, forehead])


@lru_cache(maxsize=1)
def mean_face_base() -> np.ndarray:
    """The 78 base vertices on the 3D mean face (forehead above the brows, sloping back)."""
    model = mean_face_3d()
    right, left = model[list(RIGHT_EYE)].mean(axis=0), model[list(LEFT_EYE)].mean(axis=0)
    iod = float(np.linalg.norm(left - right))
    forehead = model[list(BROWS)] + np.array([0.0, -FOREHEAD_RAISE * iod, FOREHEAD_DEPTH])
    return np.concatenate([model, forehead])


@lru_cache(maxsize=1)
def topology() -> MeshTopology:
    """Delaunay triangulation of the frontal mean face, each triangle split in four."""
    frontal = mean_face_base()[:, :2]
    base_tris = Delaunay(frontal).simplices.astype(np.int32)
    edges: dict[tuple[int, int], int] = {}
    rows = [np.eye(N_BASE)]
    count = N_BASE

    def midpoint(a: int, b: int) -> int:
        nonlocal count
        key = (min(a, b), max(a, b))
        if key not in edges:
            row = np.zeros((1, N_BASE))
            row[0, a] = row[0, b] = 0.5
            rows.append(row)
            edges[key] = count
            count += 1
        return edges[key]

    tris = []
    for a, b, c in base_tris:
        ab, bc, ca = midpoint(a, b), midpoint(b, c), midpoint(c, a)
        tris += [(a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca)]
    outline = np.array(list(JAW) + list(FOREHEAD)[::-1], np.int32)  # jaw, then forehead right to left
    return MeshTopology(np.vstack(rows), np.array(tris, np.int32), outline)


def lift(base_2d: np.ndarray, pose: HeadPose, width: int, height: int) -> np.ndarray:
    """3D camera-space positions of base vertices: image points at the depth of the posed mean face."""
    rotation, _ = cv2.Rodrigues(np.array(pose.rvec))
    posed = mean_face_base() @ rotation.T + np.array(pose.tvec)
    k_inv = np.linalg.inv(camera_matrix(width, height))
    rays = np.hstack([base_2d, np.ones((len(base_2d), 1))]) @ k_inv.T
    return rays * posed[:, 2:3]


def repose(points_3d: np.ndarray, source: HeadPose, target: HeadPose) -> np.ndarray:
    """Move camera-space points from the source face's pose to the target face's pose."""
    rs, _ = cv2.Rodrigues(np.array(source.rvec))
    rt, _ = cv2.Rodrigues(np.array(target.rvec))
    canonical = (points_3d - np.array(source.tvec)) @ rs  # = R_s^T (p - t_s)
    return canonical @ rt.T + np.array(target.tvec)


def project(points_3d: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pinhole projection into an image of this size."""
    k = camera_matrix(width, height)
    uvw = points_3d @ k.T
    return uvw[:, :2] / uvw[:, 2:3]


def snap(points_2d: np.ndarray, target_landmarks: np.ndarray) -> np.ndarray:
    """Similarity-align ``points_2d`` (whose first 68 rows are landmarks) onto the target's stable landmarks."""
    idx = list(STABLE)
    tform = SimilarityTransform.from_estimate(points_2d[idx], target_landmarks[idx])
    if not tform:
        return points_2d
    return np.asarray(tform(points_2d))
