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
from dubkernels.face.align import CropTransform
from dubkernels.face.masks import face_mask
from dubkernels.io.frames import Frame, Window, copy_metadata
from dubkernels.io.sequences import FrameSequence, parse_frames
from dubkernels.jobs.kinds import KINDS
from dubkernels.nets.device import pick_device
from dubkernels.nets.ynet import ActorSwap, YNet
from dubkernels.stages.base import Stage, fail
from dubkernels.stages.common import face_layer, plate, plate_notes, read_box, track_for
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
        notes = plate_notes(self.track, self.sequence, chunk, "face_track")
        missing = [r.frame for r in self.track.records if r.landmarks is None]
        return notes + ([f"{len(missing)} frames without a face are rendered empty"] if missing else [])

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
        colour = colour_spaces(self.job.ocio)
        headers: list[Frame] = []
        faces = []
        for i, f in enumerate(frames):
            landmarks = self.track.record(f).landmarks
            if landmarks is None:
                headers.append(read_box(self.sequence, f, self.track, "face", (0, 0, 1, 1))[0])  # checked, rendered empty
                continue
            crop = CropTransform.from_landmarks(landmarks, resolution)
            box = crop.source_box()
            image, rgb = read_box(self.sequence, f, self.track, "face", box)
            headers.append(image)
            warped = crop.warp(rgb, origin=(box[0], box[1]))
            faces.append((i, crop, landmarks, np.clip(colour.to_network(warped), 0.0, 1.0)))
        results: list[np.ndarray] = []
        if faces:
            stack = np.stack([face[3] for face in faces])
            # Always the same batch size (zero-padded): the kernels, and so the bits of every frame, do not
            # depend on how frames were chunked or where a killed run resumed.
            padded = np.zeros((max(self.params.batch, len(stack)),) + stack.shape[1:], stack.dtype)
            padded[: len(stack)] = stack
            with torch.no_grad():
                x = torch.from_numpy(padded).permute(0, 3, 1, 2).to(self.device)
                results = list(net(x).permute(0, 2, 3, 1).float().cpu().numpy()[: len(stack)])
        out = [self._empty(image) for image in headers]
        for (i, crop, landmarks, _), y in zip(faces, results):
            out[i] = self._paste(frames[i], headers[i], crop, landmarks, y)
        return out

    @staticmethod
    def _empty(image: Frame) -> dict[str, Frame]:
        display = image.display_window
        return {"out": face_layer(np.zeros((1, 1, 4), np.float32), (display.x, display.y), display)}

    def _paste(self, frame: int, image: Frame, crop: CropTransform, landmarks: np.ndarray,
               result: np.ndarray) -> dict[str, Frame]:
        """The network's crop back in plate coordinates as a premultiplied RGBA face layer."""
        display = image.display_window
        x0, y0, x1, y1 = crop.paste_box(display.width, display.height)
        region = Window(x0, y0, x1 - x0, y1 - y0)
        swapped, coverage = crop.paste(np.ascontiguousarray(result), region.width, region.height, origin=(x0, y0))
        linear = colour_spaces(self.job.ocio).from_network(swapped)
        mask = face_mask(landmarks, self.params.mask_grow, self.params.mask_feather).over(region)
        alpha = np.clip(mask * coverage, 0.0, 1.0)
        if not (alpha > 0).any():
            raise fail(self.name, f"frame {frame}: the face mask is empty; check the track's landmarks.")
        rgba = np.dstack([np.maximum(linear, 0.0) * alpha[..., None], alpha]).astype(np.float32)
        layer = face_layer(rgba, (display.x + x0, display.y + y0), display)
        copy_metadata(layer, image.spec)
        return {"out": layer}
