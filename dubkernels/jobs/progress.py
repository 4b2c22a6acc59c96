"""Progress of long work, for a person (tqdm bars) or a host application (JSON lines).

Every job reports through a :class:`Progress`: ``start(step, total)``, ``advance(n, frame)``,
``set_total(n)``, ``message(text)``, ``finish()``. ``--progress json`` prints one JSON
object per event on stderr, e.g.::

    {"event": "progress", "step": "mouth_composite", "frame": 1012, "done": 12, "total": 40}

Events: ``start``, ``progress``, ``message``, ``finish``; keys: step, frame, done, total,
message (absent when unknown). Bars open only once their total is known, so no empty
``0frame`` line is printed.
"""
from __future__ import annotations

import json
import sys
import time
from typing import Any, Callable, TextIO

MODES = ("bar", "json", "none")


class Progress:
    """Silent progress: the base of the others, and what library callers get by default."""

    def __init__(self) -> None:
        self.step = ""
        self.done = 0
        self.total: int | None = None

    def start(self, step: str, total: int | None = None, unit: str = "frame") -> None:
        self.step, self.done, self.total = step, 0, total

    def set_total(self, total: int) -> None:
        self.total = total

    def advance(self, n: int = 1, frame: int | None = None) -> None:
        self.done += n

    def message(self, text: str) -> None:
        """A note about the work under way (a loss value, a skipped step)."""

    def finish(self) -> None:
        """The step is over."""

    def callback(self) -> Callable[[int], None]:
        """A ``progress(n)`` callback for code that counts work done."""
        def advance(n: int = 1) -> None:
            self.advance(n)

        return advance


class JsonProgress(Progress):
    """One JSON line per event on ``stream`` (stderr by default), flushed at once."""

    def __init__(self, stream: TextIO | None = None, min_interval: float = 0.0):
        super().__init__()
        self.stream = stream or sys.stderr
        self.min_interval = min_interval
        self._last = 0.0

    def _emit(self, event: str, **values: Any) -> None:
        record = {"event": event, "step": self.step, "done": self.done, "total": self.total}
        record.update({k: v for k, v in values.items() if v is not None})
        self.stream.write(json.dumps(record) + "\n")
        self.stream.flush()

    def start(self, step: str, total: int | None = None, unit: str = "frame") -> None:
        super().start(step, total, unit)
        self._emit("start", unit=unit)

    def set_total(self, total: int) -> None:
        super().set_total(total)
        self._emit("progress")

    def advance(self, n: int = 1, frame: int | None = None) -> None:
        super().advance(n, frame)
        now = time.monotonic()
        if now - self._last >= self.min_interval or self.done == self.total:
            self._last = now
            self._emit("progress", frame=frame)

    def message(self, text: str) -> None:
        self._emit("message", message=text)

    def finish(self) -> None:
        self._emit("finish")


class BarProgress(Progress):
    """A tqdm bar per step on stderr, at ``position`` (1 under an overall bar)."""

    def __init__(self, position: int = 0, leave: bool = True):
        super().__init__()
        self.position, self.leave = position, leave
        self._bar: Any = None
        self._unit = "frame"

    def _open(self) -> None:
        from tqdm import tqdm

        if self._bar is None:
            self._bar = tqdm(total=self.total, desc=self.step, unit=self._unit, file=sys.stderr,
                             dynamic_ncols=True, position=self.position, leave=self.leave, initial=self.done)

    def start(self, step: str, total: int | None = None, unit: str = "frame") -> None:
        self.finish()
        super().start(step, total, unit)
        self._unit = unit
        if total:
            self._open()

    def set_total(self, total: int) -> None:
        super().set_total(total)
        if self._bar is None:
            self._open()
        else:
            self._bar.total = total
            self._bar.refresh()

    def advance(self, n: int = 1, frame: int | None = None) -> None:
        super().advance(n, frame)
        self._open()
        self._bar.update(n)

    def message(self, text: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(text)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def make_progress(mode: str, position: int = 0) -> Progress:
    """The progress reporter for ``--progress MODE``."""
    if mode == "json":
        return JsonProgress()
    if mode == "none":
        return Progress()
    return BarProgress(position)
