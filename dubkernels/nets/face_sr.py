"""FaceSR: face super-resolution x2 (configurable), fine-tuned per actor (paper 3.3.2).

The paper uses GPEN, whose weights cannot be had here. This is an EDSR-style residual network
(no batch norm, residual blocks with scaled residuals, sub-pixel upsampling) that learns only the
detail missing from a bicubic enlargement: its last convolution starts at zero, so an untrained
network returns exactly the bicubic image and fine-tuning on a few hundred frames of one actor
can only add detail (lips, teeth, skin, grain) to it. Why this and not a GAN prior: see
docs/face_sr.md.

Example:
    >>> net = FaceSR(SRModelConfig(resolution=128, scale=2, channels=32, blocks=8))
    >>> net(torch.rand(1, 3, 128, 128)).shape
    torch.Size([1, 3, 256, 256])
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dubkernels.nets.config import SRModelConfig

RESIDUAL_SCALE = 0.1  # EDSR's residual scaling: keeps deep stacks stable without batch norm


class ResBlock(nn.Module):
    """conv-ReLU-conv with a scaled residual."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(channels, channels, 3, padding=1))
        self.residual_scale = RESIDUAL_SCALE

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.residual_scale * self.body(x)


class FaceSR(nn.Module):
    """(N, 3, H, W) in 0..1 -> (N, 3, scale H, scale W) in 0..1: bicubic enlargement plus learned detail."""

    def __init__(self, config: SRModelConfig):
        super().__init__()
        config.check()
        self.scale = config.scale
        c = config.channels
        self.head = nn.Conv2d(3, c, 3, padding=1)
        self.body = nn.Sequential(*(ResBlock(c) for _ in range(config.blocks)), nn.Conv2d(c, c, 3, padding=1))
        up: list[nn.Module] = []
        for _ in range(config.scale // 2):  # x2 per stage
            up += [nn.Conv2d(c, 4 * c, 3, padding=1), nn.PixelShuffle(2), nn.ReLU(inplace=True)]
        self.up = nn.Sequential(*up)
        self.tail = nn.Conv2d(c, 3, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # untrained: exactly the bicubic enlargement
        assert self.tail.bias is not None
        nn.init.zeros_(self.tail.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError("FaceSR takes (N, 3, H, W) images, got " + str(list(x.shape)))
        base = F.interpolate(x, scale_factor=float(self.scale), mode="bicubic", align_corners=False)
        features = self.head(x)
        detail = self.tail(self.up(features + self.body(features)))
        return (base + detail).clamp(0.0, 1.0)
