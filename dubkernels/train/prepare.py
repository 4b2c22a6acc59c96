"""Training data preparation: aligned face crops with face and mouth masks, and their ``.npz`` cache.

A :class:`FaceClip` (frame pattern, track, role) becomes a :class:`CropSet`:
per frame with a face, the aligned crop in network space (uint8 RGB), the face
mask and the mouth mask in crop space. Crop sets are cached as compressed
``.npz`` files so training runs do not re-read plates. The torch datasets that
sample them are in :mod:`dubkernels.train.datasets`.

Example:
    >>> actor = load_or_extract(FaceClip("A0.####.exr", "A0.track.json", "actor"), 256, "cache")
    >>> actor.images.shape   # (frames with a face, 256, 256, 3)
"""
from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from dubkernels.colour import ColourSpaces, to_uint8
from dubkernels.errors import DubKernelsError, TrackError
from dubkernels.face.align import CropTransform
from dubkernels.face.masks import face_mask, mouth_mask
from dubkernels.io.files import atomic_write
from dubkernels.io.frames import Frame, Window, read_region
from dubkernels.io.sequences import resolve_sequence
from dubkernels.stages.common import require_frames, require_size
from dubkernels.stages.mouth_composite import alpha_index
from dubkernels.tracks import FrameRecord, Track, load_track

log = logging.getLogger(__name__)

ACTOR_ROLES = ("actor", "actor_render")
DUBBER_ROLES = ("dubber", "dubber_render")
RENDER_ROLES = ("actor_render", "dubber_render")  # PoseAlign face layers: RGBA on black
ROLES = ACTOR_ROLES + DUBBER_ROLES

CACHE_FORMAT = "dubkernels-crops"
CACHE_VERSION = 1
_ARRAYS = ("images", "face_masks", "mouth_masks", "frames")


@dataclass(frozen=True)
class FaceClip:
    """A frame sequence, the track made from it, and its role in training."""

    pattern: str
    track: str
    role: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise DubKernelsError(f"clip {self.pattern}: role {self.role!r} is not one of {', '.join(ROLES)}.")

    @property
    def is_render(self) -> bool:
        return self.role in RENDER_ROLES


@dataclass
class CropSet:
    """Aligned crops of one clip: images (N,S,S,3), face and mouth masks (N,S,S), all uint8."""

    images: np.ndarray
    face_masks: np.ndarray
    mouth_masks: np.ndarray
    frames: list[int]
    role: str

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def size(self) -> int:
        return int(self.images.shape[1])

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write a compressed ``.npz``, atomically."""
        arrays: dict[str, Any] = {
            "images": self.images, "face_masks": self.face_masks, "mouth_masks": self.mouth_masks,
            "frames": np.asarray(self.frames, np.int64), "role": np.str_(self.role),
            "format": np.str_(CACHE_FORMAT), "version": np.int64(CACHE_VERSION),
        }
        atomic_write(path, lambda tmp: np.savez_compressed(tmp, **arrays), suffix=".npz")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "CropSet":
        """Read a file written by :meth:`save`; a clear error when it is damaged or from another version."""
        fix = "delete it and extract the crops again"
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["format"]) != CACHE_FORMAT or int(data["version"]) != CACHE_VERSION:
                    raise DubKernelsError(f"{path}: not a {CACHE_FORMAT} v{CACHE_VERSION} file; {fix}.")
                images, face, mouth, frames = (data[k] for k in _ARRAYS)
                role = str(data["role"])
        except (OSError, KeyError, ValueError) as exc:
            raise DubKernelsError(f"{path}: unreadable crop cache ({exc}); {fix}.") from exc
        n, size = len(frames), images.shape[1] if images.ndim == 4 else -1
        if images.shape != (n, size, size, 3) or face.shape != (n, size, size) or mouth.shape != (n, size, size):
            raise DubKernelsError(f"{path}: crop cache arrays do not match in shape; {fix}.")
        return cls(images, face, mouth, [int(f) for f in frames], role)


def _usable(record: FrameRecord) -> bool:
    return record.flag != "missing" and record.landmarks is not None


def _records(track: Track, clip: FaceClip, frames: list[int] | None) -> list[FrameRecord]:
    """The track records to crop: those with a face, over ``frames`` (default: the whole track)."""
    if frames is not None:
        require_frames(track, frames, clip.role)
    wanted = set(track.frames if frames is None else frames)
    records = [r for r in track.records if r.frame in wanted and _usable(r)]
    if not records:
        raise TrackError(
            f"{clip.track}: no frame of {clip.pattern} has a face (all missing or without landmarks); "
            "fix the landmarks with an overrides file, re-run `dubkernels analyze`, or pick frames that show the face."
        )
    return records


def _region_alpha(frame: Frame, region: Window) -> np.ndarray:
    """The frame's alpha over ``region`` of its display window as float32; 0 outside the data window."""
    disp = frame.display_window
    absolute = Window(region.x + disp.x, region.y + disp.y, region.width, region.height)
    return frame.window_pixels(absolute, [alpha_index(frame)])[..., 0]


def _mask_u8(values: np.ndarray) -> np.ndarray:
    return (np.clip(values, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def crop_masks(crop: CropTransform, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Face and mouth masks (float 0..1) rasterised in crop space from the crop-mapped landmarks.

    The masks' sizes are fractions of the interocular distance, so mapping the
    landmarks through the similarity scales them with the crop exactly.
    """
    points = crop.to_crop(landmarks)
    face = face_mask(points).full(crop.size, crop.size)
    mouth = mouth_mask(points).full(crop.size, crop.size)
    return face, mouth


def _where(clip: FaceClip, frame: int) -> str:
    return f"{clip.role} {clip.pattern} (frame {frame})"


def _transform(clip: FaceClip, frame: int, landmarks: np.ndarray, size: int) -> CropTransform:
    try:
        return CropTransform.from_landmarks(landmarks, size)
    except ValueError as exc:
        raise TrackError(f"{clip.track}: frame {frame}: {exc}; correct them with an overrides file.") from exc


def extract_crops(
    clip: FaceClip,
    size: int,
    colour: ColourSpaces | None = None,
    frames: list[int] | None = None,
    progress: Callable[[int], object] | None = None,
    on_total: Callable[[int], object] | None = None,
) -> CropSet:
    """Aligned ``size`` crops of every frame of ``clip`` with a face, read one frame at a time.

    Render clips (PoseAlign face layers) limit the face mask by their alpha. The
    mouth mask never exceeds the face mask. ``on_total`` hears the number of
    crops to make, ``progress(1)`` follows each crop.
    """
    colour = colour or ColourSpaces()
    track = load_track(clip.track)
    records = _records(track, clip, frames)
    sequence = resolve_sequence(clip.pattern, [r.frame for r in records])
    n = len(records)
    if on_total:
        on_total(n)
    images = np.empty((n, size, size, 3), np.uint8)
    face_masks = np.empty((n, size, size), np.uint8)
    mouth_masks = np.empty((n, size, size), np.uint8)
    for i, record in enumerate(records):
        landmarks = record.landmarks
        assert landmarks is not None  # _records keeps only frames with landmarks
        crop = _transform(clip, record.frame, landmarks, size)
        x0, y0, x1, y1 = crop.source_box()  # only the region under the crop is read
        region = Window(x0, y0, x1 - x0, y1 - y0)
        image = read_region(sequence.path(record.frame), region, record.frame)
        require_size(track, image, _where(clip, record.frame))
        images[i] = to_uint8(colour.to_network(crop.warp(image.region_rgb(region), origin=(x0, y0))))
        face, mouth = crop_masks(crop, landmarks)
        if clip.is_render:
            face = np.minimum(face, crop.warp(_region_alpha(image, region), cv2.INTER_LINEAR, origin=(x0, y0)))
        face_masks[i] = _mask_u8(face)
        mouth_masks[i] = _mask_u8(np.minimum(mouth, face))
        if progress:
            progress(1)
    return CropSet(images, face_masks, mouth_masks, [r.frame for r in records], clip.role)


def cache_key(clip: FaceClip, fingerprint: str, size: int, colour: ColourSpaces) -> str:
    """Digest of what a crop set depends on: pattern, track fingerprint, size, role and colour."""
    parts = (CACHE_VERSION, clip.pattern, fingerprint, size, clip.role, colour.config.getCacheID(), colour.network)
    return hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()


def load_or_extract(
    clip: FaceClip,
    size: int,
    cache_dir: str | os.PathLike[str],
    colour: ColourSpaces | None = None,
    progress: Callable[[int], object] | None = None,
    on_total: Callable[[int], object] | None = None,
) -> CropSet:
    """The crop set of ``clip`` from ``cache_dir``, extracting and caching it when absent or damaged."""
    colour = colour or ColourSpaces()
    key = cache_key(clip, load_track(clip.track).fingerprint, size, colour)
    path = Path(cache_dir) / f"{clip.role}-{size}-{key}.npz"
    if path.is_file():
        try:
            cached = CropSet.load(path)
        except DubKernelsError as exc:
            log.warning("%s; extracting again", exc)
        else:
            if on_total:
                on_total(len(cached))
            if progress:
                progress(len(cached))
            return cached
    crops = extract_crops(clip, size, colour, progress=progress, on_total=on_total)
    crops.save(path)
    return crops
