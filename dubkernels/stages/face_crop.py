"""The crop -> network -> paste-back loop of the stages that run a network on the aligned face crop.

One helper for IdentitySwap and FaceSR (as facexlib's FaceRestoreHelper is one object): per frame, the
aligned crop of the track's face (:class:`CropTransform`, read only over its source box) in OCIO network
space; the crops of a batch through a network step at a fixed batch size; each result warped back into
plate (display-window) coordinates with the crop's exact inverse, and made a face layer by the stage's own
compositing. A frame without a face is an empty layer: one black pixel at the display window's origin, as
:func:`face_layer` and MouthComposite's empty mask have it.

Example:
    >>> cropper = FaceCropper(sequence, track, "face", 256, colour_spaces(ocio))
    >>> layers = cropper.render(frames, torch_step(net, device), batch=8, composite=my_layer)
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from dubkernels.colour import ColourSpaces
from dubkernels.face.align import CropTransform
from dubkernels.io.frames import Frame, Window, copy_metadata
from dubkernels.io.sequences import FrameSequence
from dubkernels.stages.common import face_layer, read_box
from dubkernels.tracks import Track

NetworkStep = Callable[[np.ndarray], np.ndarray]
"""A network on a batch: (B, H, W, 3) float32 network-space crops -> (B, H', W', 3) float32."""


@dataclass(frozen=True)
class FaceCrop:
    """One frame's face as the network reads it."""

    frame: int
    image: Frame  # the frame read over the crop's source box: its header (windows, metadata) and that region
    landmarks: np.ndarray  # (68, 2), display-window pixels
    transform: CropTransform  # plate -> crop at the network's input size
    pixels: np.ndarray  # (size, size, 3) float32, network space clipped to 0..1


Composite = Callable[[FaceCrop, np.ndarray], Frame]
"""A stage's face layer from a frame's crop and the network's result on it (H', W', 3)."""


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def torch_step(net: torch.nn.Module, device: torch.device) -> NetworkStep:
    """``net`` (NCHW tensors) as a :data:`NetworkStep` on NHWC arrays, without gradients."""

    def step(crops: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            x = torch.from_numpy(crops).permute(0, 3, 1, 2).to(device)
            return net(x).permute(0, 2, 3, 1).float().cpu().numpy()

    return step


def run_padded(step: NetworkStep, crops: np.ndarray, batch: int) -> np.ndarray:
    """``step`` on ``crops`` (N, H, W, 3) zero-padded to at least ``batch``: the kernels, and so the bits of
    every frame, do not depend on how frames were chunked or where a killed run resumed. Returns (N, H', W', 3)."""
    _check(crops.ndim == 4 and crops.shape[-1] == 3, f"crops must be (N, H, W, 3), got {crops.shape}")
    padded = np.zeros((max(batch, len(crops)),) + crops.shape[1:], crops.dtype)
    padded[: len(crops)] = crops
    out = step(padded)
    _check(out.ndim == 4 and out.shape[0] == len(padded) and out.shape[-1] == 3,
           f"the network step gave {out.shape} for {padded.shape}; expected ({len(padded)}, H', W', 3)")
    return out[: len(crops)]


def empty_layer(image: Frame) -> Frame:
    """The face layer of a frame without a face: one black pixel at the display window's origin."""
    display = image.display_window
    return face_layer(np.zeros((1, 1, 4), np.float32), (display.x, display.y), display)


def plate_layer(rgba: np.ndarray, region: Window, image: Frame) -> Frame:
    """A face layer from premultiplied ``rgba`` over ``region`` (display-window coordinates) of ``image``'s
    plate, with ``image``'s metadata; its data window is the bbox of alpha > 0."""
    _check(rgba.shape == (region.height, region.width, 4),
           f"rgba must be (region height, region width, 4) = {(region.height, region.width, 4)}, got {rgba.shape}")
    display = image.display_window
    layer = face_layer(rgba, (display.x + region.x, display.y + region.y), display)
    copy_metadata(layer, image.spec)
    return layer


def faceless_note(track: Track) -> list[str]:
    """The summary note for the track's frames without a face (rendered empty), if any."""
    missing = [r.frame for r in track.records if r.landmarks is None]
    return [f"{len(missing)} frames without a face are rendered empty"] if missing else []


@dataclass(frozen=True)
class FaceCropper:
    """Aligned face crops of one input sequence (faces from its track) and their paste-back."""

    sequence: FrameSequence
    track: Track
    what: str  # the input's name, in errors
    size: int  # the network's input crop (pixels a side)
    colour: ColourSpaces

    def read(self, frame: int) -> FaceCrop | Frame:
        """The aligned crop of ``frame``'s face, reading only its source box; a frame without a face gives
        only its (checked) header."""
        landmarks = self.track.record(frame).landmarks
        if landmarks is None:
            return read_box(self.sequence, frame, self.track, self.what, (0, 0, 1, 1))[0]
        transform = CropTransform.from_landmarks(landmarks, self.size)
        box = transform.source_box()
        image, rgb = read_box(self.sequence, frame, self.track, self.what, box)
        warped = transform.warp(rgb, origin=(box[0], box[1]))
        return FaceCrop(frame, image, landmarks, transform, np.clip(self.colour.to_network(warped), 0.0, 1.0))

    def paste_back(self, transform: CropTransform, result: np.ndarray,
                   region: Window) -> tuple[np.ndarray, np.ndarray]:
        """``result`` (a crop of ``transform``'s size, network space) warped back over plate ``region`` (display
        coordinates) with the crop's exact inverse: (scene-linear RGB, negatives clipped; coverage 0..1)."""
        _check(result.ndim == 3 and result.shape[-1] == 3, f"result must be (H, W, 3), got {result.shape}")
        image, coverage = transform.paste(np.ascontiguousarray(result), region.width, region.height,
                                          origin=(region.x, region.y))
        return np.maximum(self.colour.from_network(image), 0.0), coverage

    def render(self, frames: list[int], step: NetworkStep, batch: int, composite: Composite) -> list[Frame]:
        """One face layer per frame: every face's crop through ``step`` in one padded batch, each result made a
        layer by ``composite``; frames without a face give :func:`empty_layer`."""
        read = [self.read(f) for f in frames]
        faces = [c for c in read if isinstance(c, FaceCrop)]
        results = iter(run_padded(step, np.stack([c.pixels for c in faces]), batch) if faces else [])
        return [composite(c, next(results)) if isinstance(c, FaceCrop) else empty_layer(c) for c in read]
