"""``dubkernels sample``: write the synthetic actor/dubber sample shot."""
from __future__ import annotations

import argparse
from pathlib import Path

from dubkernels.cli.common import add_colour_options, contiguous_range, progress_bar
from dubkernels.colour import ColourSpaces
from dubkernels.sample import MIN_SIZE, make_sample

HELP = "write a synthetic actor/dubber pair of EXR sequences (working space, ACEScg by default) with true landmarks"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample", help=HELP,
        description=HELP + ". Made from scikit-image's astronaut photo; nothing is downloaded.",
    )
    p.add_argument("outdir", type=Path, help="folder for actor/, dubber/ and sample_truth.json")
    p.add_argument("--frames", metavar="RANGE", default="1001-1024", help="contiguous frame range to make (default 1001-1024)")
    p.add_argument("--size", type=int, default=MIN_SIZE, help=f"width and height, at least {MIN_SIZE} (default {MIN_SIZE})")
    add_colour_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    start, count = contiguous_range(args.frames)
    colour = ColourSpaces(args.ocio)
    with progress_bar(2 * count, "sample") as bar:
        shot = make_sample(args.outdir, count, start, args.size, progress=bar.update, colour=colour)
    print(f"actor: {shot.actor}")
    print(f"dubber: {shot.dubber}")
    print(f"truth: {shot.truth}")
    return 0
