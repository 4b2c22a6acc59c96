"""Reinhard colour transfer (Reinhard et al. 2001) in Lab, with masked statistics.

Statistics count only the pixels inside a mask (DeepFaceLab's RCT counts the
masked-out ones too, a known flaw). Lab comes from network-space (sRGB-encoded)
RGB through OpenCV's float conversion.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MIN_STD = 1e-3


@dataclass(frozen=True)
class LabStats:
    """Per-channel mean and standard deviation in Lab."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]


def to_lab(network_rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.clip(network_rgb, 0.0, 1.0).astype(np.float32), cv2.COLOR_RGB2Lab)


def masked_stats(network_rgb: np.ndarray, mask: np.ndarray) -> LabStats | None:
    """Lab mean/std of the pixels where ``mask`` is true; None if there are too few."""
    if mask.sum() < 16:
        return None
    lab = to_lab(network_rgb)[mask]
    mean, std = lab.mean(axis=0), lab.std(axis=0)
    return LabStats(tuple(float(v) for v in mean), tuple(float(v) for v in std))  # type: ignore[arg-type]


def robust(samples: list[LabStats]) -> LabStats:
    """Median statistics over a shot, so one odd frame cannot make the colour flicker."""
    means = np.median([s.mean for s in samples], axis=0)
    stds = np.median([s.std for s in samples], axis=0)
    return LabStats(tuple(float(v) for v in means), tuple(float(v) for v in stds))  # type: ignore[arg-type]


def transfer(network_rgb: np.ndarray, source: LabStats, target: LabStats) -> np.ndarray:
    """Move ``network_rgb`` from the source statistics to the target's."""
    lab = to_lab(network_rgb)
    scale = np.array(target.std) / np.maximum(np.array(source.std), MIN_STD)
    lab = (lab - np.array(source.mean)) * scale + np.array(target.mean)
    return cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB)
