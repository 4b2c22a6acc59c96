"""IdentitySwap inference (paper 3.2): the actor's face with the input's expression, on black.

Per frame: the aligned crop of the input face (from its track) in OCIO network
space, the shared encoder + style module + actor decoder of a trained
checkpoint, and the result warped back into plate coordinates with the crop's
exact inverse; alpha = the face mask times the crop's coverage. Pass 1 runs on
the aligned dubber render (PoseAlign), pass 2 on the pass-1 result.
"""
from __future__ import annotations

import multiprocessing
from functools import lru_cache

import numpy as np
import torch

from dubkernels.colour import colour_spaces
from dubkernels.errors import DubKernelsError
from dubkernels.face.masks import face_mask
from dubkernels.io.frames import Frame, Window
from dubkernels.io.sequences import FrameSequence, parse_frames
from dubkernels.jobs.kinds import KINDS
from dubkernels.nets.device import pick_device
from dubkernels.nets.ynet import ActorSwap, YNet
from dubkernels.stages.base import Stage, fail
from dubkernels.stages.common import plate, track_for
from dubkernels.stages.face_crop import FaceCrop, FaceCropper, faceless_note, plate_layer, torch_step
from dubkernels.tracks import Track
from dubkernels.nets.checkpoint import load_checkpoint


@lru_cache(maxsize=2)
def _network(path: str, device: torch.device) -> tuple[ActorSwap, int]:
    """The inference path of a checkpoint, loaded once per process."""
    ckpt = load_checkpoint(path)
    net = YNet(ckpt.config.ynet)
    net.load_state_dict(ckpt.weights)
    if multiprocessing.current_process().name != "MainProcess":
        torch.set_num_threads(1)  # the runner already spreads frames over the worker processes
    return ActorSwap(net).eval().to(device), ckpt.config.ynet.resolution


class IdentitySwap(Stage):
    """Give the input face the actor's identity with the trained Y-network."""

    kind = KINDS["identity_swap"]

    def frames(self) -> list[int]:
        return track_for(self.job.inputs["face_track"], "face_track").frames

    def prepare(self) -> list[str]:
        load_checkpoint(self.job.inputs["checkpoint"])  # a bad checkpoint fails before any frame
        try:
            self.device = pick_device(self.params.device)  # so does a GPU this machine does not have
        except DubKernelsError as exc:
            raise fail(self.name, str(exc)) from exc
        self.track: Track = track_for(self.job.inputs["face_track"], "face_track")
        chunk = parse_frames(self.job.frames) if self.job.frames else self.track.frames
        self.sequence: FrameSequence = plate(self.job.inputs["face"], chunk, "face")  # frames are independent
        notes = self.plate_notes(self.track, self.sequence, chunk, "face_track")
        return notes + faceless_note(self.track)

    def batch_size(self) -> int:
        return self.params.batch

    def max_workers(self) -> int | None:
        return 1 if self.device.type == "cuda" else None  # one process feeds the GPU; more would each hold a CUDA context

    def render(self, frame: int) -> dict[str, Frame]:
        return self.render_batch([frame])[0]

    def render_batch(self, frames: list[int]) -> list[dict[str, Frame]]:
        """Crop every frame (reading only the region under the crop), run the network once on the stack,
        paste each result back."""
        net, resolution = _network(self.job.inputs["checkpoint"], self.device)
        cropper = FaceCropper(self.sequence, self.track, "face", resolution, colour_spaces(self.job.ocio))
        layers = cropper.render(frames, torch_step(net, self.device), self.params.batch,
                                lambda crop, result: self._layer(cropper, crop, result))
        return [{"out": layer} for layer in layers]

    def _layer(self, cropper: FaceCropper, crop: FaceCrop, result: np.ndarray) -> Frame:
        """The network's crop back in plate coordinates as a premultiplied RGBA face layer."""
        display = crop.image.display_window
        x0, y0, x1, y1 = crop.transform.paste_box(display.width, display.height)
        region = Window(x0, y0, x1 - x0, y1 - y0)
        swapped, coverage = cropper.paste_back(crop.transform, result, region)
        mask = face_mask(crop.landmarks, self.params.mask_grow, self.params.mask_feather).over(region)
        alpha = np.clip(mask * coverage, 0.0, 1.0)
        if not (alpha > 0).any():
            raise fail(self.name, f"frame {crop.frame}: the face mask is empty; check the track's landmarks.")
        return plate_layer(np.dstack([swapped * alpha[..., None], alpha]).astype(np.float32), region, crop.image)
