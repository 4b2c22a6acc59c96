"""LPIPS and FID from local TorchScript files the user gives (nothing downloads at run time).

The files are the ones the StyleGAN2-ADA metrics (and clean-fid, torch-fidelity) use:
- ``vgg16.pt``: VGG16 with the LPIPS heads; ``model(images, resize_images=False, return_lpips=True)``
  gives per-image features whose squared difference, summed, is the LPIPS distance;
- ``inception-2015-12-05.pt``: the Inception-v3 of the original FID; ``model(images,
  return_features=True)`` gives 2048 pool features per image (it resizes to 299 itself).
Images go in as (N, 3, H, W) tensors of 0..255 values (uint8 for Inception), RGB in network space.

Example:
    >>> lpips = PerceptualModels.load("vgg16.pt", None).lpips(a0_crops, result_crops)
    >>> fid = frechet_distance(features_a, features_b)
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import linalg

from dubkernels.errors import DubKernelsError

FID_MIN_IMAGES = 2  # a covariance needs two samples; FID on a handful of frames is only a rough guide


class PerceptualError(DubKernelsError):
    """A perceptual-metric model file that cannot be used."""


def load_torchscript(path: str | Path, what: str, fix: str) -> Any:
    """A TorchScript module from ``path`` on the CPU, in eval mode; a clear error naming the file otherwise."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise PerceptualError(f"{what} model {path} not found; {fix}.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript loading is deprecated, still supported
            return torch.jit.load(str(path), map_location="cpu").eval()
    except (RuntimeError, ValueError) as exc:
        raise PerceptualError(f"{what} model {path} is not a TorchScript archive ({str(exc).splitlines()[0]}); "
                              f"{fix}.") from exc


LPIPS_FIX = "give the VGG16 LPIPS file of the StyleGAN2-ADA metrics (vgg16.pt)"
FID_FIX = "give the Inception file of the StyleGAN2-ADA metrics (inception-2015-12-05.pt)"


def _batch(images: list[np.ndarray]) -> Any:
    """Network-space 0..1 images (H, W, 3), all one size, as a float (N, 3, H, W) tensor of 0..255."""
    import torch

    stack = np.clip(np.stack(images).astype(np.float32), 0.0, 1.0) * 255.0
    return torch.from_numpy(stack).permute(0, 3, 1, 2).contiguous()


@dataclass
class PerceptualModels:
    """The LPIPS and FID models given (either may be absent)."""

    vgg16: Any = None
    inception: Any = None

    @classmethod
    def load(cls, lpips_model: str | Path | None, fid_model: str | Path | None) -> "PerceptualModels":
        return cls(load_torchscript(lpips_model, "LPIPS", LPIPS_FIX) if lpips_model else None,
                   load_torchscript(fid_model, "FID", FID_FIX) if fid_model else None)

    def lpips(self, a: list[np.ndarray], b: list[np.ndarray]) -> list[float]:
        """LPIPS distance of each pair (a[i], b[i]) of same-size network-space images."""
        import torch

        if len(a) != len(b):
            raise ValueError(f"{len(a)} images against {len(b)}")
        if not a:
            return []
        with torch.no_grad():
            try:
                fa = self.vgg16(_batch(a), resize_images=False, return_lpips=True)
                fb = self.vgg16(_batch(b), resize_images=False, return_lpips=True)
            except RuntimeError as exc:
                raise PerceptualError(f"the LPIPS model does not take (images, resize_images, return_lpips) "
                                      f"({str(exc).splitlines()[0]}); {LPIPS_FIX}.") from exc
        return (fa - fb).square().flatten(1).sum(dim=1).double().tolist()

    def features(self, images: list[np.ndarray]) -> np.ndarray:
        """Inception pool features (N, 2048) of network-space images."""
        import torch

        with torch.no_grad():
            try:
                out = self.inception(_batch(images).round().to(torch.uint8), return_features=True)
            except RuntimeError as exc:
                raise PerceptualError(f"the FID model does not take (images, return_features) "
                                      f"({str(exc).splitlines()[0]}); {FID_FIX}.") from exc
        return out.double().numpy().reshape(len(images), -1)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, D): FID when they are Inception's."""
    if len(a) < FID_MIN_IMAGES or len(b) < FID_MIN_IMAGES:
        return float("nan")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    root = linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(root).all():  # singular product: nudge both diagonals, as the reference FID code does
        eps = np.eye(len(cov_a)) * 1e-6
        root = linalg.sqrtm((cov_a + eps) @ (cov_b + eps))
    root = np.real(root)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(root))
