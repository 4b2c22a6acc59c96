"""One `dub` at a time in a work folder.

`dub` holds an exclusive advisory lock (``flock``) on ``WORK/.dubkernels.lock`` while it runs; `dubkernels run` of
a job `dub` wrote (``WORK/jobs/NAME.json``: a farm task, a chunk) holds it shared, so a step's chunks run side by
side while no `dub` does. The OS releases the lock when its process ends, kill -9 included, so a killed run never
leaves a folder locked. The lock file names its holder for the message a refused run prints.

Example:
    >>> with work_lock(Path("shots/sh010/work"), "dub sh010.toml"):
    ...     ...  # run the graph
"""
from __future__ import annotations

import fcntl
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from dubkernels.errors import DubKernelsError

LOCK_NAME = ".dubkernels.lock"


class WorkBusy(DubKernelsError):
    """Another dubkernels run holds the work folder."""


@contextmanager
def work_lock(work: Path, what: str, shared: bool = False) -> Iterator[None]:
    """Hold ``work``'s lock (exclusive for a `dub`, ``shared`` for one job of it) while the block runs; a
    :class:`WorkBusy` naming the holder when another run has it."""
    work.mkdir(parents=True, exist_ok=True)
    fd = os.open(work / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
            raise WorkBusy(f"{work} is in use by {holder or 'a farm task (dubkernels run of one of its jobs)'}; "
                           "two runs in one work folder would each redo every step. Wait for it to end, or stop "
                           "it, then run again.") from None
        if not shared:
            os.ftruncate(fd, 0)
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            os.pwrite(fd, f"`{what}` (pid {os.getpid()} on {socket.gethostname()}, since {stamp})\n".encode(), 0)
        try:
            yield
        finally:
            if not shared:
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)

