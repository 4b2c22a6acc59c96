"""Frame sequences with Nuke's conventions, on fileseq.

Patterns: ``shot.####.exr`` (``#`` is one digit, as in Nuke), ``shot.%04d.exr``,
and an explicit range inside the pattern, ``shot.1001-1100####.exr``.
Frame ranges (``--frames``): ``1001-1100``, ``1001-1100x2``, ``1001,1005,1010-1020``.

Example:
    >>> seq = resolve_sequence("plates/shot.####.exr", "1001-1010")
    >>> seq.path(1001)
    PosixPath('plates/shot.1001.exr')
"""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

import fileseq

from dubkernels.errors import SequenceError

PAD_STYLE = fileseq.PAD_STYLE_HASH1  # Nuke: one '#' per digit


_SPAN = re.compile(r"^(-?\d+)-(-?\d+)")


def parse_frames(text: str) -> list[int]:
    """Parse a frame range such as ``1001-1100`` or ``1,3,5-9x2`` into sorted frame numbers.

    A span that runs backwards (``1100-1001``) is refused, not reversed.
    """
    for part in text.replace(" ", "").split(","):
        span = _SPAN.match(part)
        if span and int(span.group(1)) > int(span.group(2)):
            raise SequenceError(f"frame range '{text}' runs backwards ({part}); write it first to last, like "
                                f"{span.group(2)}-{span.group(1)}.")
    try:
        frames = sorted({int(f) for f in fileseq.FrameSet(text.replace(" ", ""))})
    except (fileseq.ParseException, ValueError) as exc:
        raise SequenceError(f"frame range '{text}' is malformed; write it like 1001-1100 or 1001,1005-1010.") from exc
    if not frames:
        raise SequenceError(f"frame range '{text}' holds no frames.")
    return frames


def format_frames(frames: list[int]) -> str:
    """Compact range text for frame numbers (``1001-1003,1007``)."""
    return str(fileseq.FrameSet(sorted(frames))) if frames else "none"


@functools.lru_cache(maxsize=256)  # parsing costs milliseconds; a dub asks for the same patterns thousands of times
def _parse_pattern(pattern: str) -> fileseq.FileSequence:
    """The file name is the pattern; the folders above it are taken as they are (a ``#``, ``@`` or ``,`` in a
    folder's name is no placeholder)."""
    folder, name = os.path.split(str(pattern))
    try:
        seq = fileseq.FileSequence(name, pad_style=PAD_STYLE)
    except fileseq.ParseException as exc:
        raise SequenceError(f"'{pattern}' is not a frame pattern; write it like shot.####.exr.") from exc
    if folder:
        seq.setDirname(folder + os.sep)
    if not seq.padding():
        raise SequenceError(
            f"'{pattern}' has no frame number placeholder; write it like shot.####.exr or shot.%04d.exr."
        )
    return seq


@dataclass(frozen=True)
class FrameSequence:
    """A frame pattern plus the frame numbers in use."""

    pattern: str
    frames: tuple[int, ...]

    @property
    def first(self) -> int:
        return self.frames[0]

    @property
    def last(self) -> int:
        return self.frames[-1]

    def path(self, frame: int) -> Path:
        return Path(_parse_pattern(self.pattern).frame(frame))

    def paths(self) -> list[Path]:
        return [self.path(f) for f in self.frames]

    def missing(self) -> list[int]:
        return [f for f in self.frames if not self.path(f).is_file()]

    def __len__(self) -> int:
        return len(self.frames)

    def __str__(self) -> str:
        return f"{self.pattern} {format_frames(list(self.frames))}"


def _frames_on_disk(seq: fileseq.FileSequence, pattern: str) -> list[int]:
    """The frame numbers of the files in the pattern's folder that match it: its name, a number of the pattern's
    padding (longer only without leading zeros), its extension. (fileseq's ``findSequenceOnDisk`` would read a
    ``#`` or ``@`` in a folder's name as a placeholder.)"""
    folder = Path(seq.dirname() or ".")
    width = fileseq.FileSequence.getPaddingNum(seq.padding(), pad_style=PAD_STYLE)
    name = re.compile(re.escape(seq.basename()) + r"(-?\d+)" + re.escape(seq.extension()) + "$")
    try:
        entries = os.listdir(folder)
    except OSError:
        return []
    frames = []
    for entry in entries:
        match = name.match(entry)
        digits = match.group(1).lstrip("-") if match else ""
        if match and (len(digits) == width or (len(digits) > width and not digits.startswith("0"))):
            frames.append(int(match.group(1)))
    return sorted(frames)


def output_sequence(pattern: str | os.PathLike[str], frames: list[int] | tuple[int, ...]) -> FrameSequence:
    """An output pattern for the given frames (files need not exist)."""
    seq = _parse_pattern(str(pattern))
    clean = _strip_range(seq)
    return FrameSequence(clean, tuple(frames))


def _strip_range(seq: fileseq.FileSequence) -> str:
    return f"{seq.dirname()}{seq.basename()}{seq.padding()}{seq.extension()}"


def resolve_sequence(
    pattern: str | os.PathLike[str],
    frames: str | list[int] | None = None,
    *,
    must_exist: bool = True,
) -> FrameSequence:
    """Resolve a pattern and an optional range to existing frames.

    Without ``frames`` the range in the pattern is used, else the frames found on
    disk. With ``must_exist`` every frame must be there; missing frames are
    reported by number.
    """
    seq = _parse_pattern(str(pattern))
    clean = _strip_range(seq)
    if isinstance(frames, str):
        numbers = parse_frames(frames)
    elif frames is not None:
        numbers = sorted(set(frames))
    elif seq.frameSet():
        numbers = sorted(int(f) for f in seq.frameSet() or [])
    else:
        on_disk = _frames_on_disk(seq, clean)
        if not on_disk:
            raise SequenceError(f"no frames found for '{clean}'; check the folder and the pattern's padding.")
        numbers = list(range(on_disk[0], on_disk[-1] + 1))  # a hole inside the range is a missing frame
    result = FrameSequence(clean, tuple(numbers))
    if must_exist:
        missing = result.missing()
        if missing:
            on_disk = _frames_on_disk(seq, clean)
            held = f"the folder holds frames {format_frames(on_disk)}" if on_disk else "the folder holds none"
            raise SequenceError(
                f"{clean}: missing frames {format_frames(missing)} of {format_frames(list(numbers))} ({held}); "
                "render them, or narrow the range (a job's --frames, a shot file's shot.frames)."
            )
    return result
