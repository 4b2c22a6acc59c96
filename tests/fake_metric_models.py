"""TorchScript stand-ins for the LPIPS (vgg16.pt) and FID (inception-2015-12-05.pt) files, with the
same call signatures and simple features whose distances the tests can compute by hand."""
from __future__ import annotations

from pathlib import Path

import torch


class FakeVgg(torch.nn.Module):
    """Stands in for vgg16.pt: per-channel means (0..1) as the 'LPIPS features'."""

    def forward(self, img: torch.Tensor, resize_images: bool = True, return_lpips: bool = False) -> torch.Tensor:
        assert return_lpips and not resize_images
        return img.mean(dim=(2, 3)) / 255.0


class FakeInception(torch.nn.Module):
    """Stands in for inception-2015-12-05.pt: channel means and mean of squares as 'pool features'."""

    def forward(self, img: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        assert return_features and img.dtype == torch.uint8
        x = img.float() / 255.0
        return torch.cat([x.mean(dim=(2, 3)), (x * x).mean(dim=(2, 3))], dim=1)


def save_fake_models(folder: Path) -> tuple[Path, Path]:
    """Script both stand-ins into ``folder``; returns (vgg16.pt, inception.pt)."""
    vgg, inception = folder / "vgg16.pt", folder / "inception.pt"
    torch.jit.script(FakeVgg()).save(str(vgg))
    torch.jit.script(FakeInception()).save(str(inception))
    return vgg, inception
