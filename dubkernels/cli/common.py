"""Options and helpers shared by subcommands (light: nothing here imports torch, dlib or OpenImageIO)."""
from __future__ import annotations

import argparse

from dubkernels.errors import SequenceError
from dubkernels.jobs.progress import MODES


def add_frames_option(parser: argparse.ArgumentParser, default: str = "all on disk") -> None:
    parser.add_argument(
        "--frames", metavar="RANGE",
        help=f"frames to use, Nuke style: 1001-1100, 1001-1100x2, 1001,1005-1010 (default: {default})",
    )


def add_colour_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ocio", metavar="CONFIG", help="OCIO config path or ocio:// URI (default: $OCIO, else OCIO's built-in CG config)")


def add_progress_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", choices=MODES, default="bar",
                        help="bar: progress bars on stderr (default); json: one JSON line per event on stderr, for "
                             "host applications; none: quiet")


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1 (``--workers 0`` is refused, not reinterpreted)."""
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def contiguous_range(text: str) -> tuple[int, int]:
    """(first frame, frame count) of a contiguous range such as 1001-1024, for commands that make frames."""
    from dubkernels.io.sequences import parse_frames

    frames = parse_frames(text)
    if frames != list(range(frames[0], frames[-1] + 1)):
        raise SequenceError(f"frame range '{text}' must be contiguous here, like 1001-1024.")
    return frames[0], len(frames)
