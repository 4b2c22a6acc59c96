"""Options and helpers shared by subcommands."""
from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from typing import Iterator

from tqdm import tqdm


def add_frames_option(parser: argparse.ArgumentParser, default: str = "all on disk") -> None:
    parser.add_argument(
        "--frames", metavar="RANGE",
        help=f"frames to use, Nuke style: 1001-1100, 1001-1100x2, 1001,1005-1010 (default: {default})",
    )


def add_colour_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ocio", metavar="CONFIG", help="OCIO config path or ocio:// URI (default: $OCIO, else OCIO's built-in CG config)")


@contextmanager
def progress_bar(total: int, desc: str, unit: str = "frame") -> Iterator[tqdm]:
    """A tqdm bar on stderr (quiet when stderr is not a terminal and CI is set)."""
    with tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=True) as bar:
        yield bar
