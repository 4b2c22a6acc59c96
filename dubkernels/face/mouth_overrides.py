"""The artist's say over the own mouth, per frame range: what the selection and the warp must do there.

Written as one line (a shot file's ``[own_mouth] overrides``, the OwnMouth node's knob), entries separated by
``;``, each ``FRAMES: ACTION``, frames in the usual frame-list syntax:

- ``1040-1052: close``: the lips meet on these frames, whatever the dubber's measure;
- ``1060-1071: source 1203``: show actor frames 1203, 1204, ... on them (a run chosen by hand);
- ``1001-1352: forbid 1180-1190``: never show these actor frames there (a blink, a hand over the mouth);
- ``1100-1110: opening 1.3``: scale the lips' opening (1.3: a third wider; 0.5: half).

Example:
    >>> parse_overrides("1040-1052: close; 1100-1110: opening 1.3")
    [Override(frames=(1040, ..., 1052), action='close', value=None), Override(..., action='opening', value=1.3)]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dubkernels.errors import DubKernelsError
from dubkernels.io.sequences import format_frames, parse_frames

ACTIONS = ("close", "source", "forbid", "opening")
EXAMPLES = {"source": "source 1203", "forbid": "forbid 1180-1190", "opening": "opening 1.3"}
MAX_OPENING_SCALE = 3.0
BARRED = 1e6  # the cost of a source an override rules out (finite: infinite costs mark a target without a face)


class OverrideError(DubKernelsError):
    """An override the own mouth cannot read or carry out."""


@dataclass(frozen=True)
class Override:
    """One entry: the target frames it holds for, what it does, and its argument (a frame, frames or a scale)."""

    frames: tuple[int, ...]
    action: str
    value: int | float | tuple[int, ...] | None


def _frames(text: str, entry: str) -> tuple[int, ...]:
    try:
        return tuple(parse_frames(text.strip()))
    except (DubKernelsError, ValueError) as exc:
        raise OverrideError(f"override '{entry}': '{text.strip()}' is not a frame list ({exc}); "
                            "write e.g. 1040-1052 or 1040,1045.") from exc


def _entry(entry: str) -> Override:
    head, colon, body = entry.partition(":")
    words = body.split()
    if not colon or not words or words[0] not in ACTIONS:
        raise OverrideError(f"override '{entry}': write FRAMES: ACTION, the action one of "
                            f"{', '.join(ACTIONS)} (e.g. '1040-1052: close').")
    frames, action, rest = _frames(head, entry), words[0], words[1:]
    if action == "close":
        if rest:
            raise OverrideError(f"override '{entry}': 'close' takes nothing after it.")
        return Override(frames, action, None)
    if len(rest) != 1:
        raise OverrideError(f"override '{entry}': '{action}' takes one value (e.g. '{EXAMPLES[action]}').")
    if action == "source":
        if not rest[0].isdigit():
            raise OverrideError(f"override '{entry}': 'source' takes one actor frame number.")
        return Override(frames, action, int(rest[0]))
    if action == "forbid":
        return Override(frames, action, _frames(rest[0], entry))
    try:
        scale = float(rest[0])
    except ValueError:
        scale = -1.0
    if not 0.0 <= scale <= MAX_OPENING_SCALE:
        raise OverrideError(f"override '{entry}': 'opening' takes a scale from 0 to {MAX_OPENING_SCALE} "
                            "(1: as chosen).")
    return Override(frames, action, scale)


def parse_overrides(text: str) -> list[Override]:
    """The overrides of ``text`` (empty: none), each checked; a clear error naming the entry otherwise."""
    return [_entry(entry.strip()) for entry in text.split(";") if entry.strip()]


def check_frames(overrides: list[Override], shot: list[int], sources: list[int]) -> None:
    """Refuse overrides naming target frames outside the shot or actor frames the take does not track."""
    shot_set, source_set = set(shot), set(sources)
    for o in overrides:
        outside = sorted(set(o.frames) - shot_set)
        if outside:
            raise OverrideError(f"override on {format_frames(list(o.frames))}: frames "
                                f"{format_frames(outside)} are not in the shot ({format_frames(shot)}).")
        if o.action == "source":
            assert isinstance(o.value, int)
            wanted = range(o.value, o.value + len(o.frames))
            missing = [f for f in wanted if f not in source_set]
            if missing:
                raise OverrideError(f"override '{format_frames(list(o.frames))}: source {o.value}': actor "
                                    f"frames {format_frames(missing)} have no tracked face; start the run elsewhere.")


def constrain(cost: np.ndarray, shot: list[int], sources: list[int], overrides: list[Override]) -> np.ndarray:
    """The selection's (T, S) cost with ``source`` and ``forbid`` overrides made hard (``BARRED``): a forced frame is
    the only one left on its target, a forbidden one is never taken there."""
    out = cost.copy()
    target, source = {f: i for i, f in enumerate(shot)}, {f: i for i, f in enumerate(sources)}
    for o in overrides:
        rows = [target[f] for f in o.frames]
        if o.action == "forbid":
            assert isinstance(o.value, tuple)
            columns = [source[f] for f in o.value if f in source]
            out[np.ix_(rows, columns)] = BARRED
        elif o.action == "source":
            assert isinstance(o.value, int)
            for k, row in enumerate(rows):
                keep = source[o.value + k]
                kept = out[row, keep]
                out[row] = BARRED
                out[row, keep] = kept if np.isfinite(kept) else 0.0
    return out


def forced_closed(overrides: list[Override]) -> set[int]:
    """The target frames whose lips an override closes."""
    return {f for o in overrides if o.action == "close" for f in o.frames}


def opening_scale(frame: int, overrides: list[Override]) -> float:
    """The opening scale an override sets on ``frame`` (1: none; the last entry naming the frame wins)."""
    scale = 1.0
    for o in overrides:
        if o.action == "opening" and frame in o.frames:
            assert isinstance(o.value, float)
            scale = o.value
    return scale
