"""The frames a supervisor should look at first: where the delivered mouth is furthest from the dubber's, where
it jumps most beyond the plate's own change, where the dubber's mouth opens wider than it does (by more than the
gap between closed and open lips: a shape the actor's take lacks), and where the dubber's lips meet but its do
not.

Each is a frame of the report's per-frame curves (:class:`dubkernels.report.collect.ShotMetrics`) with the figure
that put it there; the page shows each as a thumbnail linking to its time in the review movie.

Example:
    >>> for look in frames_to_look_at(metrics, "own"):
    ...     print(look.frame, look.what, look.why)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dubkernels.face.mouth_match import OPEN_GAP
from dubkernels.report.collect import ShotMetrics

APART = 12  # frames between two frames to look at (half a second): four moments, not one moment four times


@dataclass(frozen=True)
class Look:
    """A frame to look at: what it shows and the figure that chose it."""

    frame: int
    what: str
    why: str

    def seconds(self, metrics: ShotMetrics, fps: float) -> float:
        """Its time in the review movie (which starts at the first measured frame), in seconds."""
        return (metrics.frames.index(self.frame) + 0.5) / fps  # mid-frame: a seek lands on it, not the one before


def _curve(metrics: ShotMetrics, key: str) -> np.ndarray:
    return np.asarray(metrics.curves.get(key, []), np.float64)


def _largest(values: np.ndarray, taken: list[int], apart: int) -> int | None:
    """The index of the largest finite value above 0 at least ``apart`` frames from the indices ``taken``; None
    without one."""
    for i in np.argsort(-np.nan_to_num(values, nan=-np.inf)):
        if not np.isfinite(values[i]) or values[i] <= 0:
            return None
        if all(abs(int(i) - j) >= apart for j in taken):
            return int(i)
    return None


def frames_to_look_at(metrics: ShotMetrics, result: str, apart: int = APART) -> list[Look]:
    """Up to four frames of ``result`` to look at first, in the order of the bar (sync, steadiness, reach,
    closures), each at least ``apart`` frames from the others."""
    dubber, opening = _curve(metrics, "opening_dubber"), _curve(metrics, f"opening_{result}")
    lmd, jump, closed = _curve(metrics, f"lmd_{result}"), _curve(metrics, f"jump_{result}"), _curve(metrics,
                                                                                                      "closure_dubber")
    paired = len(dubber) == len(opening) == len(metrics.frames)
    short = np.where(dubber - opening > OPEN_GAP, dubber - opening, np.nan) if paired else np.array([])
    missed = (np.where((closed == 0) & (opening > OPEN_GAP), opening, np.nan) if paired and len(closed) == len(opening)
              else np.array([]))
    kinds = (
        ("worst sync", lmd, lambda i: f"the mouth furthest from the dubber's (LMD {lmd[i]:.3f})"),
        ("largest jump", jump, lambda i: f"the mouth box changes {255 * jump[i]:.1f} grey levels (of 255) more "
                                         "than the plate's from the frame before"),
        ("shape not reached", short, lambda i: f"the dubber's mouth opens {dubber[i]:.3f}, this one "
                                               f"{opening[i]:.3f} (interocular distances)"),
        ("closure missed", missed, lambda i: f"the dubber's lips meet, this mouth is open {opening[i]:.3f}"),
    )
    looks: list[Look] = []
    taken: list[int] = []
    for what, values, why in kinds:
        if (i := _largest(values, taken, apart)) is not None:
            taken.append(i)
            looks.append(Look(metrics.frames[i], what, why(i)))
    return looks
