"""The OwnMouth node's animated overrides, written as the engine's override text (no `nuke` import).

The Overrides tab's knobs are keyed over the frames they hold for: ``force_close`` (on: the lips meet),
``opening_scale`` (the lips' opening scaled), ``force_source`` (the actor frame shown; 0: the selection's).
Sampled on every frame between their first and last keys, they become entries of the engine's
``overrides`` text (``1040-1052: close; 1100-1104: opening 1.3; 1060-1071: source 1203``), after what the
artist typed in the ``overrides`` knob itself.
"""
from __future__ import annotations

from typing import Callable

OVERRIDE_KNOBS = (("force_close", 0.0), ("opening_scale", 1.0), ("force_source", 0.0))  # name, resting value
OPENING_STEP = 0.01  # opening scales are written to two decimals: a ramp becomes short runs of equal values


def _runs(frames: list[int], same: Callable[[int, int], bool]) -> list[tuple[int, int]]:
    """(first, last) of the runs of consecutive frames where ``same(previous, frame)`` holds."""
    runs: list[tuple[int, int]] = []
    for f in frames:
        if runs and f == runs[-1][1] + 1 and same(runs[-1][1], f):
            runs[-1] = (runs[-1][0], f)
        else:
            runs.append((f, f))
    return runs


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def override_text(close: dict[int, float], opening: dict[int, float], source: dict[int, float]) -> str:
    """The override entries of sampled knob values (frame -> value): closures where ``close`` is on (>= 0.5),
    opening scales other than 1, and forced actor frames (> 0) whose numbers run on with the frames."""
    entries = [f"{_span(a, b)}: close" for a, b in _runs(sorted(f for f, v in close.items() if v >= 0.5),
                                                         lambda p, f: True)]
    scales = {f: round(v / OPENING_STEP) * OPENING_STEP for f, v in opening.items()}
    wider = sorted(f for f, v in scales.items() if abs(v - 1.0) > OPENING_STEP / 2)
    entries += [f"{_span(a, b)}: opening {scales[a]:g}" for a, b in _runs(wider, lambda p, f: scales[p] == scales[f])]
    shown = {f: int(round(v)) for f, v in source.items() if round(v) > 0}
    entries += [f"{_span(a, b)}: source {shown[a]}"
                for a, b in _runs(sorted(shown), lambda p, f: shown[f] == shown[p] + 1)]
    return "; ".join(entries)


def joined(typed: str, animated: str) -> str:
    """The typed overrides, then the animated ones (a later entry wins where both set an opening)."""
    return "; ".join(part.strip().strip(";") for part in (typed, animated) if part.strip())
