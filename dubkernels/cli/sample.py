"""``dubkernels sample``: write the synthetic actor/dubber sample shot."""
from __future__ import annotations

import argparse
from pathlib import Path

from dubkernels.cli.common import add_colour_options, add_progress_option, contiguous_range

HELP = "write a synthetic actor/dubber pair of EXR sequences (working space, ACEScg by default) with true landmarks"
MIN_SIZE = 512  # kept equal to dubkernels.sample.MIN_SIZE (checked by a test) so --help stays light


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample", help=HELP,
        description=HELP + ". Made from scikit-image's astronaut photo; nothing is downloaded.",
    )
    p.add_argument("outdir", type=Path, help="folder for actor/, dubber/ and sample_truth.json")
    p.add_argument("--frames", metavar="RANGE", default="1001-1024", help="contiguous frame range to make (default 1001-1024)")
    p.add_argument("--size", type=int, default=MIN_SIZE, help=f"width and height, at least {MIN_SIZE} (default {MIN_SIZE})")
    add_colour_options(p)
    add_progress_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dubkernels.colour import ColourSpaces
    from dubkernels.jobs.progress import make_progress
    from dubkernels.sample import make_sample

    start, count = contiguous_range(args.frames)
    progress = make_progress(args.progress)
    progress.start("sample", 2 * count)
    shot = make_sample(args.outdir, count, start, args.size, progress=progress.callback(), colour=ColourSpaces(args.ocio))
    progress.finish()
    print(f"actor: {shot.actor}")
    print(f"dubber: {shot.dubber}")
    print(f"truth: {shot.truth}")
    return 0
