"""Locate the dlib model files shipped by the face-recognition-models package.

The package's own ``__init__`` imports ``pkg_resources``; we find its folder with
``importlib.util.find_spec`` instead, so it works with any setuptools. Nothing
is downloaded: a user can also point at their own ``.dat`` files.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from dubkernels.errors import FaceError

PREDICTOR_68 = "shape_predictor_68_face_landmarks.dat"
CNN_DETECTOR = "mmod_human_face_detector.dat"


def model_path(name: str, override: str | Path | None = None) -> Path:
    """Path of dlib model ``name``: ``override`` if given, else the face-recognition-models copy."""
    if override:
        path = Path(override)
        if not path.is_file():
            raise FaceError(f"dlib model file {path} not found; give the path of a {name}.")
        return path
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceError(
            f"dlib model {name} needs the face-recognition-models package; "
            "install it with: pip install face-recognition-models==0.3.0"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / name
    if not path.is_file():
        raise FaceError(f"{path} is missing; reinstall face-recognition-models.")
    return path
