"""Options and helpers shared by subcommands."""
from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from typing import Callable, Iterator

from tqdm import tqdm

from dubkernels.errors import SequenceError
from dubkernels.io.sequences import parse_frames


def add_frames_option(parser: argparse.ArgumentParser, default: str = "all on disk") -> None:
    parser.add_argument(
        "--frames", metavar="RANGE",
        help=f"frames to use, Nuke style: 1001-1100, 1001-1100x2, 1001,1005-1010 (default: {default})",
    )


def add_colour_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ocio", metavar="CONFIG", help="OCIO config path or ocio:// URI (default: $OCIO, else OCIO's built-in CG config)")


def contiguous_range(text: str) -> tuple[int, int]:
    """(first frame, frame count) of a contiguous range such as 1001-1024, for commands that make frames."""
    frames = parse_frames(text)
    if frames != list(range(frames[0], frames[-1] + 1)):
        raise SequenceError(f"frame range '{text}' must be contiguous here, like 1001-1024.")
    return frames[0], len(frames)


@contextmanager
def progress_bar(total: int, desc: str, unit: str = "frame") -> Iterator[tqdm]:
    """A tqdm bar on stderr (quiet when stderr is not a terminal and CI is set)."""
    with tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=True) as bar:
        yield bar


def total_setter(bar: tqdm) -> Callable[[int], None]:
    """A callback that sets the bar's total once the work knows its size."""
    def set_total(n: int) -> None:
        bar.total = n
        bar.refresh()

    return set_total
