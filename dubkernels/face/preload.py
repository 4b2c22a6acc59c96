"""Imported by the worker processes' fork server: dlib's face detector and the default 68-point model are loaded
once there, so every analysis worker forked from it starts with them (about 0.75 s of loading each otherwise).

A missing model is not an error here: the analysis names it, with its fix, when it runs.
"""
from dubkernels.errors import DubKernelsError
from dubkernels.face.detect import FaceDetector

try:
    FaceDetector()  # fills the detector module's per-process caches
except DubKernelsError:
    pass
