"""The 1 Euro filter on numpy arrays: an adaptive low-pass for noisy tracked points.

Casiez, Roussel and Vogel, "1 Euro Filter: A Simple Speed-based Low-pass Filter
for Noisy Input in Interactive Systems", CHI 2012. Each element is filtered on
its own: cutoff = min_cutoff + beta * |filtered derivative|, so slow motion is
smoothed hard (no jitter) and fast motion lightly (little lag).

Example:
    >>> f = OneEuroFilter(min_cutoff=1.0, beta=0.5)
    >>> smoothed = [f(points, frame / 25.0) for frame, points in enumerate(track)]
"""
from __future__ import annotations

import math

import numpy as np


def smoothing_factor(period: float, cutoff: np.ndarray | float) -> np.ndarray | float:
    """Exponential smoothing factor alpha = 1 / (1 + tau / Te) with tau = 1 / (2 pi cutoff)."""
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff))
    return 1.0 / (1.0 + tau / period)


class OneEuroFilter:
    """Filters one array (any shape, e.g. (68, 2) points) per timestamp, element-wise."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0):
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError(f"need min_cutoff > 0, d_cutoff > 0, beta >= 0; got {min_cutoff}, {d_cutoff}, {beta}")
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next sample passes through unfiltered."""
        self._time: float | None = None
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None

    def __call__(self, value: np.ndarray, time: float) -> np.ndarray:
        """The filtered value of ``value`` sampled at ``time`` (seconds, increasing)."""
        value = np.asarray(value, dtype=np.float64)
        if self._time is None or self._value is None or self._speed is None:
            self._time, self._value, self._speed = time, value.copy(), np.zeros_like(value)
            return value.copy()
        period = time - self._time
        if period <= 0:
            raise ValueError(f"timestamps must increase: {time} after {self._time}")
        speed = (value - self._value) / period
        self._speed = self._speed + smoothing_factor(period, self.d_cutoff) * (speed - self._speed)
        cutoff = self.min_cutoff + self.beta * np.abs(self._speed)
        self._value = self._value + smoothing_factor(period, cutoff) * (value - self._value)
        self._time = time
        return self._value.copy()


def zero_lag(values: np.ndarray, times: np.ndarray, min_cutoff: float, beta: float = 0.0,
             d_cutoff: float = 1.0) -> np.ndarray:
    """``values`` (N, ...) sampled at ``times`` (N,) filtered forwards and backwards, the two passes averaged: the
    1 Euro filter's smoothing without its lag."""
    f = OneEuroFilter(min_cutoff, beta, d_cutoff)
    forward = np.stack([f(v, t) for v, t in zip(values, times)])
    f.reset()
    backward = np.stack([f(v, -t) for v, t in zip(values[::-1], times[::-1])])[::-1]
    return 0.5 * (forward + backward)
