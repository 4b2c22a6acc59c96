"""FaceSR inference (paper 3.3.2): the face layer's aligned crop enlarged by the actor's fine-tuned FaceSR
and pasted back at plate resolution.

Per frame: the layer's crop at FaceSR's input size (the same aligned crop IdentitySwap uses, read
only over its region) in OCIO network space, FaceSR, and the enlarged crop warped back over the
same plate region with the crop's exact inverse. The layer's alpha is kept; where the crop does
not reach, the layer's own pixels stay.
"""
from __future__ import annotations

import multiprocessing
from functools import lru_cache

import numpy as np
import torch

from dubkernels.colour import colour_spaces
from dubkernels.errors import DubKernelsError
from dubkernels.face.align import CropTransform
from dubkernels.io.frames import Frame, Window
from dubkernels.io.sequences import FrameSequence, parse_frames
from dubkernels.jobs.kinds import KINDS
from dubkernels.nets.checkpoint import load_checkpoint
from dubkernels.nets.config import SRModelConfig
from dubkernels.nets.device import pick_device
from dubkernels.nets.face_sr import FaceSR
from dubkernels.stages.base import Stage, fail
from dubkernels.stages.common import plate, track_for
from dubkernels.stages.face_crop import FaceCrop, FaceCropper, faceless_note, plate_layer, torch_step
from dubkernels.stages.mouth_composite import alpha_index, unpremultiply
from dubkernels.tracks import Track


@lru_cache(maxsize=2)
def _network(path: str, device: torch.device) -> tuple[FaceSR, SRModelConfig]:
    """A FaceSR checkpoint's network, loaded once per process."""
    ckpt = load_checkpoint(path, arch="face_sr")
    net = FaceSR(ckpt.config.sr)
    net.load_state_dict(ckpt.weights)
    if multiprocessing.current_process().name != "MainProcess":
        torch.set_num_threads(1)  # the runner already spreads frames over the worker processes
    return net.eval().to(device), ckpt.config.sr


class FaceSRStage(Stage):
    """Sharpen the face layer with the actor's FaceSR."""

    kind = KINDS["face_sr"]

    def frames(self) -> list[int]:
        return track_for(self.job.inputs["face_track"], "face_track").frames

    def prepare(self) -> list[str]:
        load_checkpoint(self.job.inputs["checkpoint"], arch="face_sr")  # a bad checkpoint fails before any frame
        try:
            self.device = pick_device(self.params.device)
        except DubKernelsError as exc:
            raise fail(self.name, str(exc)) from exc
        self.track: Track = track_for(self.job.inputs["face_track"], "face_track")
        chunk = parse_frames(self.job.frames) if self.job.frames else self.track.frames
        self.sequence: FrameSequence = plate(self.job.inputs["face"], chunk, "face")
        return self.plate_notes(self.track, self.sequence, chunk, "face_track") + faceless_note(self.track)

    def batch_size(self) -> int:
        return self.params.batch

    def max_workers(self) -> int | None:
        return 1 if self.device.type == "cuda" else None

    def render(self, frame: int) -> dict[str, Frame]:
        return self.render_batch([frame])[0]

    def render_batch(self, frames: list[int]) -> list[dict[str, Frame]]:
        """Crop every frame, run FaceSR once on the (zero-padded, fixed-size) stack, paste each result back."""
        net, sr = _network(self.job.inputs["checkpoint"], self.device)
        cropper = FaceCropper(self.sequence, self.track, "face", sr.resolution, colour_spaces(self.job.ocio))
        layers = cropper.render(frames, torch_step(net, self.device), self.params.batch,
                                lambda crop, result: self._layer(cropper, crop, sr, result))
        return [{"out": layer} for layer in layers]

    @staticmethod
    def _layer(cropper: FaceCropper, crop: FaceCrop, sr: SRModelConfig, result: np.ndarray) -> Frame:
        """The enlarged crop over the layer's own pixels, under the layer's alpha."""
        layer = crop.image
        display, dw = layer.display_window, layer.data_window
        region = Window(dw.x - display.x, dw.y - display.y, dw.width, dw.height)  # the layer's own window
        enlarged, coverage = cropper.paste_back(CropTransform.from_landmarks(crop.landmarks, sr.output), result, region)
        rgba = layer.window_pixels(dw, layer.rgb_indices() + [alpha_index(layer)])
        alpha, own = rgba[..., 3:], unpremultiply(rgba)
        cov = coverage[..., None]
        rgb = (enlarged * cov + own * (1.0 - cov)) * alpha
        return plate_layer(np.dstack([rgb, alpha]).astype(np.float32), region, layer)
