"""``dubkernels demo``: the demo shot, end to end, from data that ships with the install."""
from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from dubkernels.cli.common import add_colour_options, contiguous_range
from dubkernels.colour import ColourSpaces
from dubkernels.demo import TAKES, run_demo

HELP = "build the sample actor/dubber shot, analyze and preview both, and print where everything is"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help=HELP, description=HELP + ". Nothing is downloaded.")
    p.add_argument("outdir", type=Path, nargs="?", default=Path("dubkernels_demo"), help="output folder (default: dubkernels_demo)")
    p.add_argument("--frames", metavar="RANGE", default="1001-1024", help="contiguous frame range of the sample shot (default 1001-1024)")
    add_colour_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    start, count = contiguous_range(args.frames)
    steps = ["sample"] + [f"{verb} {take}" for take in TAKES for verb in ("analyze", "preview")]
    totals = {step: count * (2 if step == "sample" else 1) for step in steps}
    with tqdm(total=sum(totals.values()), desc="demo", unit="frame") as bar:
        def progress(step: str, n: int) -> None:
            bar.set_postfix_str(step)
            bar.update(n)

        report = run_demo(args.outdir, count, start, ColourSpaces(args.ocio), progress)
    print(f"sample shot: {report.outdir} (ground truth: {report.truth})")
    for take in report.takes:
        counts = ", ".join(f"{n} {flag}" for flag, n in take.counts.items() if n)
        print(f"{take.name}:")
        print(f"  plate:         {take.pattern}")
        print(f"  track:         {take.track} ({counts})")
        print(f"  contact sheet: {take.preview.contact_sheet}")
        print(f"  movie:         {take.preview.movie}")
        print(f"  mouth landmark error vs truth: {take.mouth_error_iod:.3f} x interocular distance")
        for note in take.notes:
            print(f"  note: {note}")
    return 0
