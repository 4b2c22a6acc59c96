"""FaceSR fine-tune pairs from the actor plate itself (paper 3.3.2).

The target is the plate's aligned face crop at FaceSR's output size. The input is that crop at the
input size, made two ways, half the samples each when both are available:
(a) degraded: Gaussian-blurred (a random sigma) and area-downsampled, with a little noise;
(b) self-swapped: the downsampled crop through the shot's own IdentitySwap (actor -> shared
    encoder -> actor decoder), so FaceSR learns to turn the network's soft output into the
    actor's own lips, teeth and skin.
Samples depend on (seed, epoch, index) only, as the Y-network's do, so a resumed run repeats them.
"""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np
import torch

from dubkernels.errors import DubKernelsError
from dubkernels.train.datasets import EpochDataset, chw
from dubkernels.train.prepare import CropSet

BLUR_SIGMA = (0.3, 1.2)  # times scale / 2: how soft the degraded inputs are
NOISE_SIGMA = 0.01  # at most, on 0..1 values
SWAP_BATCH = 8


def downsample(images: np.ndarray, size: int) -> np.ndarray:
    """(N, S, S, 3) uint8 crops area-resized to ``size``."""
    return np.stack([cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA) for image in images])


def self_swapped(images: np.ndarray, swap: Callable[[torch.Tensor], torch.Tensor], batch: int = SWAP_BATCH,
                 progress: Callable[[int], object] | None = None) -> np.ndarray:
    """(N, s, s, 3) uint8 crops through ``swap`` (the actor's IdentitySwap: 0..1 (N,3,s,s) in and out)."""
    out = np.empty_like(images)
    with torch.no_grad():
        for start in range(0, len(images), batch):
            chunk = torch.from_numpy(images[start : start + batch]).permute(0, 3, 1, 2).float() / 255.0
            result = swap(chunk).clamp(0, 1).permute(0, 2, 3, 1).numpy()
            out[start : start + batch] = (result * 255.0 + 0.5).astype(np.uint8)
            if progress:
                progress(len(chunk))
    return out


class SRDataset(EpochDataset):
    """Pairs for FaceSR. Keys: ``input`` (3,s,s), ``target`` (3,S,S), ``face_mask`` and ``mouth_mask``
    (1,S,S), float32 in 0..1; S = scale * s, s the input crop or, with ``patch``, a patch of it."""

    def __init__(self, targets: CropSet, scale: int, swapped: np.ndarray | None = None, seed: int = 0,
                 augment: bool = True, patch: int = 0):
        super().__init__(seed)
        if targets.size % scale:
            raise DubKernelsError(f"FaceSR targets of {targets.size} px do not divide by the scale {scale}.")
        self.targets, self.scale, self.size = targets, scale, targets.size // scale
        if swapped is not None and swapped.shape[:3] != (len(targets), self.size, self.size):
            raise DubKernelsError(f"self-swapped inputs {swapped.shape[:3]} do not match the {len(targets)} targets "
                                  f"at {self.size} px; make them with the checkpoint of this shot's swap.")
        if patch > self.size:
            raise DubKernelsError(f"FaceSR patches of {patch} px do not fit its {self.size} px input crops.")
        self.swapped, self.augment, self.patch = swapped, augment, patch

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range 0..{len(self) - 1}")
        rng = np.random.default_rng([self.seed, self.epoch, index])
        target = self.targets.images[index].astype(np.float32) / 255.0
        masks = [m[index].astype(np.float32) / 255.0 for m in (self.targets.face_masks, self.targets.mouth_masks)]
        if self.swapped is not None and rng.random() < 0.5:
            low = self.swapped[index].astype(np.float32) / 255.0
        else:
            low = self._degraded(target, rng)
        if self.augment and rng.random() < 0.5:  # a mirrored face is still a face of this actor
            target, low, masks = target[:, ::-1], low[:, ::-1], [m[:, ::-1] for m in masks]
        if self.patch:
            x, y = self._patch_origin(masks[1], rng)
            s, p = self.scale, self.patch
            low, target = low[y : y + p, x : x + p], target[s * y : s * (y + p), s * x : s * (x + p)]
            masks = [m[s * y : s * (y + p), s * x : s * (x + p)] for m in masks]
        return {"input": chw(low), "target": chw(target), "face_mask": chw(masks[0]),
                "mouth_mask": chw(masks[1])}

    def _patch_origin(self, mouth: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
        """Where a patch starts in the input crop: on the mouth half the time (the composite uses the mouth),
        anywhere otherwise."""
        limit = self.size - self.patch
        ys, xs = np.nonzero(mouth > 0.5)
        if len(ys) and rng.random() < 0.5:
            cy, cx = ys.mean() / self.scale, xs.mean() / self.scale
            jitter = rng.integers(-self.patch // 4, self.patch // 4 + 1, size=2)
            x, y = int(cx - self.patch / 2) + int(jitter[0]), int(cy - self.patch / 2) + int(jitter[1])
            return min(max(x, 0), limit), min(max(y, 0), limit)
        return int(rng.integers(0, limit + 1)), int(rng.integers(0, limit + 1))

    def _degraded(self, target: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        sigma = rng.uniform(*BLUR_SIGMA) * self.scale / 2.0
        blurred = cv2.GaussianBlur(target, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
        low = cv2.resize(blurred, (self.size, self.size), interpolation=cv2.INTER_AREA)
        noise = np.asarray(rng.normal(0.0, rng.uniform(0.0, NOISE_SIGMA), low.shape), np.float32)
        return np.clip(low + noise, 0.0, 1.0)

