"""Aligned crops of a folder of face photos, for pre-training (CelebA-HQ or any face collection)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import numpy as np

from dubkernels.analysis import AnalysisSettings, FaceAnalyzer
from dubkernels.colour import ColourSpaces, to_uint8
from dubkernels.errors import DubKernelsError
from dubkernels.face.align import CropTransform
from dubkernels.io.frames import read_frame
from dubkernels.train.prepare import CropSet, crop_masks

log = logging.getLogger(__name__)

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".exr", ".tif", ".tiff")


def _network_rgb(path: Path, colour: ColourSpaces) -> np.ndarray:
    """Photo pixels in network space: 8/16-bit files are taken as sRGB-encoded, float files as scene-linear."""
    frame = read_frame(path)
    pixels = frame.rgb()
    if np.issubdtype(frame.pixels.dtype, np.integer):
        return pixels / float(np.iinfo(frame.pixels.dtype).max)
    return np.clip(colour.to_network(pixels), 0.0, 1.0)


def photo_crops(folder: str | Path, size: int, colour: ColourSpaces | None = None,
                progress: Callable[[int], object] | None = None, role: str = "actor",
                on_total: Callable[[int], object] | None = None) -> CropSet:
    """One aligned crop (with face and mouth masks) per photo in ``folder`` that shows a face.

    ``on_total`` hears the number of photos, ``progress(1)`` follows each one.
    """
    folder, colour = Path(folder), colour or ColourSpaces()
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES) if folder.is_dir() else []
    if not paths:
        raise DubKernelsError(f"{folder}: no photos ({', '.join(PHOTO_SUFFIXES)}); point --faces at a folder of faces.")
    if on_total:
        on_total(len(paths))
    analyzer = FaceAnalyzer(AnalysisSettings(colourspace=colour.network), colour)
    images, faces, mouths, kept = [], [], [], []
    for index, path in enumerate(paths):
        rgb = _network_rgb(path, colour)
        analyzer.previous = None
        landmarks = analyzer.analyze(rgb, index).landmarks
        if progress:
            progress(1)
        if landmarks is None:
            log.warning("%s: no face; skipped", path)
            continue
        crop = CropTransform.from_landmarks(landmarks, size)
        face, mouth = crop_masks(crop, landmarks)
        images.append(to_uint8(crop.warp(rgb)))
        faces.append(to_uint8(face[..., None])[..., 0])
        mouths.append(to_uint8(np.minimum(mouth, face)[..., None])[..., 0])
        kept.append(index)
    if not kept:
        raise DubKernelsError(f"{folder}: no face found in any of {len(paths)} photos.")
    return CropSet(np.stack(images), np.stack(faces), np.stack(mouths), kept, role)
