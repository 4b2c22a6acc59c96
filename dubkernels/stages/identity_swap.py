"""IdentitySwap inference (paper 3.2): the actor's face with the input's expression, on black.

Per frame: the aligned crop of the input face (from its track) in OCIO network
space, the shared encoder + style module + actor decoder of a trained
checkpoint, and the result warped back into plate coordinates with the crop's
exact inverse; alpha = the face mask times the crop's coverage. Pass 1 runs on
the aligned dubber render (PoseAlign), pass 2 on the pass-1 result.
"""
from __future__ import annotations

import multiprocessing
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

from dubkernels.colour import ColourSpaces
from dubkernels.face.align import CropTransform
from dubkernels.face.masks import face_mask
from dubkernels.io.frames import Frame, copy_metadata
from dubkernels.io.sequences import FrameSequence
from dubkernels.nets.ynet import ActorSwap, YNet
from dubkernels.stages.base import Stage, fail
from dubkernels.stages.common import face_layer, plate, read_checked, track_for
from dubkernels.tracks import Track
from dubkernels.train.checkpoint import load_checkpoint


@dataclass
class Params:
    mask_grow: float = field(default=0.0, metadata={"help": "face mask growth, fraction of the IOD"})
    mask_feather: float = field(default=0.08, metadata={"help": "face mask feather, fraction of the IOD"})
    device: str = field(default="cpu", metadata={"help": "torch device for inference (cpu, cuda)"})


@lru_cache(maxsize=2)
def _network(path: str, device: str) -> tuple[ActorSwap, int]:
    """The inference path of a checkpoint, loaded once per process."""
    ckpt = load_checkpoint(path)
    net = YNet(ckpt.config.model)
    net.load_state_dict(ckpt.weights)
    if multiprocessing.current_process().name != "MainProcess":
        torch.set_num_threads(1)  # the runner already spreads frames over the worker processes
    return ActorSwap(net).eval().to(device), ckpt.config.model.resolution


@lru_cache(maxsize=1)
def _colour() -> ColourSpaces:
    return ColourSpaces()


class IdentitySwap(Stage):
    """Give the input face the actor's identity with the trained Y-network."""

    name = "identity_swap"
    inputs = {
        "face": "input face sequence: aligned dubber render (pass 1) or the pass-1 result (pass 2)",
        "face_track": "track of the input face sequence",
        "checkpoint": "trained per-shot checkpoint (.safetensors)",
    }
    outputs = {"out": "RGBA face layer: the actor's face, plate coordinates"}
    Params = Params

    def frames(self) -> list[int]:
        return track_for(self.job.inputs["face_track"], "face_track").frames

    def prepare(self) -> list[str]:
        load_checkpoint(self.job.inputs["checkpoint"])  # a bad checkpoint fails before any frame
        self.track: Track = track_for(self.job.inputs["face_track"], "face_track")
        self.sequence: FrameSequence = plate(self.job.inputs["face"], self.frames(), "face")
        missing = [r.frame for r in self.track.records if r.landmarks is None]
        return [f"{len(missing)} frames without a face are rendered empty"] if missing else []

    def render(self, frame: int) -> dict[str, Frame]:
        image = read_checked(self.sequence, frame, self.track, "face")
        display = image.display_window
        landmarks = self.track.record(frame).landmarks
        if landmarks is None:
            return {"out": face_layer(np.zeros((1, 1, 4), np.float32), (display.x, display.y), display)}
        net, resolution = _network(self.job.inputs["checkpoint"], self.params.device)
        colour = _colour()
        crop = CropTransform.from_landmarks(landmarks, resolution)
        rgb = image.display_rgb()
        network = np.clip(colour.to_network(crop.warp(rgb)), 0.0, 1.0)
        with torch.no_grad():
            x = torch.from_numpy(network).permute(2, 0, 1)[None].to(self.params.device)
            y = net(x)[0].permute(1, 2, 0).float().cpu().numpy()
        swapped, coverage = crop.paste(np.ascontiguousarray(y), display.width, display.height)
        linear = colour.from_network(swapped)
        mask = face_mask(landmarks, self.params.mask_grow, self.params.mask_feather).full(display.width, display.height)
        alpha = np.clip(mask * coverage, 0.0, 1.0)
        rows, cols = np.nonzero(alpha > 0)
        if not len(rows):
            raise fail(self.name, f"frame {frame}: the face mask is empty; check the track's landmarks.")
        y0, y1, x0, x1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        a = alpha[y0:y1, x0:x1, None]
        rgba = np.dstack([np.maximum(linear[y0:y1, x0:x1], 0.0) * a, a]).astype(np.float32)
        layer = face_layer(rgba, (display.x + int(x0), display.y + int(y0)), display)
        copy_metadata(layer, image.spec)
        return {"out": layer}
