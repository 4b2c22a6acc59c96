"""TorchScript export of the inference path for Nuke's CatFileCreator / Inference node.

The exported module takes one 1xCxHxW tensor (C >= 3: the first three channels are used,
sRGB-encoded network space, i.e. after an OCIOColorSpace scene_linear -> sRGB node), follows the
input's device and dtype, resizes to the network's resolution and back inside, and returns
1x3xHxW in 0..1.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from dubkernels.io.files import atomic_write
from dubkernels.nets.ynet import ActorSwap, YNet
from dubkernels.nets.checkpoint import load_checkpoint


class NukeActorSwap(nn.Module):
    """One tensor in, one out: the actor decoder's face for a crop, normalisation inside."""

    def __init__(self, swap: ActorSwap, resolution: int):
        super().__init__()
        self.swap = swap
        self.resolution = resolution

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        height, width = image.shape[2], image.shape[3]
        x = image[:, :3].float().clamp(0.0, 1.0)
        if height != self.resolution or width != self.resolution:
            x = F.interpolate(x, size=[self.resolution, self.resolution], mode="bilinear", align_corners=False,
                              antialias=True)
        y = self.swap(x)
        if height != self.resolution or width != self.resolution:
            y = F.interpolate(y, size=[height, width], mode="bilinear", align_corners=False)
        return y.to(image.dtype)


def export_torchscript(checkpoint: str | os.PathLike[str], out: str | os.PathLike[str]) -> torch.jit.ScriptModule:
    """Script the inference path of ``checkpoint`` and save it atomically to ``out``."""
    ckpt = load_checkpoint(checkpoint)
    net = YNet(ckpt.config.ynet)
    net.load_state_dict(ckpt.weights)
    module = NukeActorSwap(ActorSwap(net), ckpt.config.ynet.resolution).eval()
    with warnings.catch_warnings():  # deprecated in torch 2.13, but Nuke's Inference reads only TorchScript
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.script(module)
    atomic_write(Path(out), lambda tmp: scripted.save(tmp))
    return scripted
