"""The Y-network of identity transfer (paper 3.2).

A shared encoder of depthwise separable convolutions (Xception style) turns a
face crop into two embeddings, expression eS and identity eI. The style module
maps eS through ``mapping_blocks`` conv-BN-LeakyReLU blocks, then restyles eI
with it through ``adain_blocks`` blocks of two AdaIN layers each. Two decoders
(actor, dubber) mirror the encoder's levels back to an RGB crop in 0..1
(network space).

Example:
    >>> net = YNet(load_config("preview").model)
    >>> actor, dubber = net(torch.rand(2, 3, 128, 128))
"""
from __future__ import annotations

import torch
from torch import nn

from dubkernels.nets.config import ModelConfig

LEAK = 0.2
EPS = 1e-5


def adain(content: torch.Tensor, style: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """AdaIN(x, s) = sigma(s) * (x - mu(x)) / sigma(x) + mu(s), statistics per sample and channel."""
    if content.shape[:2] != style.shape[:2]:
        raise ValueError("AdaIN content and style differ in batch size or channels")
    mu_c = content.mean(dim=(2, 3), keepdim=True)
    sd_c = (content.var(dim=(2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    mu_s = style.mean(dim=(2, 3), keepdim=True)
    sd_s = (style.var(dim=(2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    return sd_s * (content - mu_c) / sd_c + mu_s


class SeparableConv(nn.Sequential):
    """Depthwise 3x3 then pointwise 1x1 convolution."""

    def __init__(self, cin: int, cout: int):
        super().__init__(nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False), nn.Conv2d(cin, cout, 1, bias=False))


class XceptionBlock(nn.Module):
    """Two separable convolutions with BN and ReLU, a stride-2 max-pool, and a strided 1x1 shortcut."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(), SeparableConv(cin, cout), nn.BatchNorm2d(cout),
            nn.ReLU(), SeparableConv(cout, cout), nn.BatchNorm2d(cout),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=2, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


class UpBlock(nn.Module):
    """Nearest x2 upsampling, then two separable convolutions with BN and LeakyReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            SeparableConv(cin, cout), nn.BatchNorm2d(cout), nn.LeakyReLU(LEAK),
            SeparableConv(cout, cout), nn.BatchNorm2d(cout), nn.LeakyReLU(LEAK),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Encoder(nn.Module):
    """Crop (B, 3, R, R) -> expression and identity embeddings (B, C, R/2^L, R/2^L) each."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        w = cfg.widths
        self.stem = nn.Sequential(nn.Conv2d(3, w[0], 3, padding=1, bias=False), nn.BatchNorm2d(w[0]), nn.ReLU())
        self.levels = nn.Sequential(*(XceptionBlock(a, b) for a, b in zip(w[:-1], w[1:])))
        self.expression = nn.Conv2d(w[-1], w[-1], 1)
        self.identity = nn.Conv2d(w[-1], w[-1], 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.levels(self.stem(x))
        return self.expression(features), self.identity(features)


class StyleModule(nn.Module):
    """eS through a mapping network, then AdaIN-restyled eI ("GAN module" of the paper)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c = cfg.widths[-1]
        self.mapping = nn.Sequential(*(
            nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.LeakyReLU(LEAK))
            for _ in range(cfg.mapping_blocks)
        ))
        self.convs = nn.ModuleList(nn.Conv2d(c, c, 3, padding=1) for _ in range(2 * cfg.adain_blocks))
        self.act = nn.LeakyReLU(LEAK)

    def forward(self, expression: torch.Tensor, identity: torch.Tensor) -> torch.Tensor:
        style = self.mapping(expression)
        x = identity
        for conv in self.convs:  # each pair of (AdaIN, conv) layers is one of the paper's blocks
            x = self.act(conv(adain(x, style)))
        return x


class Decoder(nn.Module):
    """Restyled embedding -> RGB crop in 0..1, mirroring the encoder's levels."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        w = cfg.widths[::-1]
        self.levels = nn.Sequential(*(UpBlock(a, b) for a, b in zip(w[:-1], w[1:])))
        self.to_rgb = nn.Conv2d(w[-1], 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.to_rgb(self.levels(x)))


class YNet(nn.Module):
    """Shared encoder + style module, and one decoder per person."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.encoder = Encoder(cfg)
        self.style = StyleModule(cfg)
        self.actor = Decoder(cfg)
        self.dubber = Decoder(cfg)

    def check_input(self, x: torch.Tensor) -> None:
        r = self.config.resolution
        if x.ndim != 4 or x.shape[1:] != (3, r, r):
            raise ValueError(f"expected (B, 3, {r}, {r}) crops, got {tuple(x.shape)}")

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The restyled embedding both decoders start from."""
        self.check_input(x)
        expression, identity = self.encoder(x)
        return self.style(expression, identity)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.embed(x)
        return self.actor(z), self.dubber(z)


class ActorSwap(nn.Module):
    """Inference: encoder + style + actor decoder. Takes and returns (B, 3, R, R) in 0..1."""

    def __init__(self, net: YNet):
        super().__init__()
        self.encoder, self.style, self.actor = net.encoder, net.style, net.actor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expression, identity = self.encoder(x)
        return self.actor(self.style(expression, identity))
