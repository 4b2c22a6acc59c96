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
from dubkernels.io.frames import Frame, Window, copy_metadata
from dubkernels.io.sequences import FrameSequence, parse_frames
from dubkernels.jobs.kinds import KINDS
from dubkernels.nets.checkpoint import load_checkpoint
from dubkernels.nets.config import SRModelConfig
from dubkernels.nets.device import pick_device
from dubkernels.nets.face_sr import FaceSR
from dubkernels.stages.base import Stage, fail
from dubkernels.stages.common import face_layer, plate, plate_notes, read_box, track_for
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
        return plate_notes(self.track, self.sequence, chunk, "face_track")

    def batch_size(self) -> int:
        return self.params.batch

    def max_workers(self) -> int | None:
        return 1 if self.device.type == "cuda" else None

    def render(self, frame: int) -> dict[str, Frame]:
        return self.render_batch([frame])[0]

    def render_batch(self, frames: list[int]) -> list[dict[str, Frame]]:
        """Crop every frame, run FaceSR once on the (zero-padded, fixed-size) stack, paste each result back."""
        net, sr = _network(self.job.inputs["checkpoint"], self.device)
        colour = colour_spaces(self.job.ocio)
        out: list[dict[str, Frame]] = []
        work = []
        for f in frames:
            landmarks = self.track.record(f).landmarks
            if landmarks is None:
                layer = read_box(self.sequence, f, self.track, "face", (0, 0, 1, 1))[0]
                out.append({"out": face_layer(np.zeros((1, 1, 4), np.float32), (0, 0), layer.display_window)})
                continue
            crop = CropTransform.from_landmarks(landmarks, sr.resolution)
            box = crop.source_box()
            layer = read_box(self.sequence, f, self.track, "face", box)[0]
            rgb = layer.region_rgb(Window(box[0], box[1], box[2] - box[0], box[3] - box[1]))
            work.append((len(out), f, layer, landmarks, np.clip(colour.to_network(crop.warp(rgb, origin=box[:2])), 0, 1)))
            out.append({})
        if work:
            stack = np.stack([w[4] for w in work])
            padded = np.zeros((max(self.params.batch, len(stack)),) + stack.shape[1:], stack.dtype)
            padded[: len(stack)] = stack  # a fixed batch size: the bits of a frame do not depend on its batch
            with torch.no_grad():
                x = torch.from_numpy(padded).permute(0, 3, 1, 2).to(self.device)
                results = net(x).permute(0, 2, 3, 1).float().cpu().numpy()[: len(stack)]
            for (index, f, layer, landmarks, _), result in zip(work, results):
                out[index] = {"out": self._paste(layer, landmarks, sr, result)}
        return out

    def _paste(self, layer: Frame, landmarks: np.ndarray, sr: SRModelConfig, result: np.ndarray) -> Frame:
        """The enlarged crop over the layer's own pixels, under the layer's alpha."""
        display = layer.display_window
        crop = CropTransform.from_landmarks(landmarks, sr.output)
        dw = layer.data_window
        region = Window(dw.x - display.x, dw.y - display.y, dw.width, dw.height)  # the layer's own window
        enlarged, coverage = crop.paste(np.ascontiguousarray(result), region.width, region.height,
                                        origin=(region.x, region.y))
        linear = colour_spaces(self.job.ocio).from_network(enlarged)
        rgba = layer.window_pixels(dw, layer.rgb_indices() + [alpha_index(layer)])
        alpha, own = rgba[..., 3:], unpremultiply(rgba)
        cov = coverage[..., None]
        rgb = (np.maximum(linear, 0.0) * cov + own * (1.0 - cov)) * alpha
        result_layer = face_layer(np.dstack([rgb, alpha]).astype(np.float32), (dw.x, dw.y), display)
        copy_metadata(result_layer, layer.spec)
        return result_layer
