"""``dubkernels demo``: a real dub with its report, from data that ships with the install (or your clips)."""
from __future__ import annotations

import argparse
from pathlib import Path

from dubkernels.cli.common import add_colour_options, add_progress_option, contiguous_range

HELP = "dub the built-in sample shot (or --actor/--dubber clips) and write the shot report"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help=HELP, description=HELP + ". Nothing is downloaded. It writes OUTDIR/shot.toml "
                       "and runs it as `dubkernels dub` does: run `dubkernels dub OUTDIR/shot.toml` to go on.")
    p.add_argument("outdir", type=Path, nargs="?", default=Path("dubkernels_demo"), help="output folder (default: dubkernels_demo)")
    p.add_argument("--frames", metavar="RANGE", default="1001-1024", help="contiguous frame range of the sample shot (default 1001-1024)")
    p.add_argument("--actor", help="an actor clip (mov/mp4 or EXR pattern) instead of the sample shot")
    p.add_argument("--dubber", help="a dubber clip (mov/mp4 or EXR pattern) saying the new line")
    p.add_argument("--learned", action="store_true", help="train and run the paper's learned passes too (off with "
                   "the CPU's preview network, which blurs: the report measures them beside the own mouth)")
    p.add_argument("--train-minutes", type=float, default=2.0, metavar="N",
                   help="with --learned, training time per pass (default 2; the preview network on the CPU)")
    add_colour_options(p)
    add_progress_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dubkernels.cli.dub import run_shot
    from dubkernels.demo import demo_shot
    from dubkernels.errors import DubKernelsError
    from dubkernels.jobs.progress import make_progress

    if (args.actor is None) != (args.dubber is None):
        raise DubKernelsError("give both --actor and --dubber, or neither (the sample shot).")
    start, count = contiguous_range(args.frames)
    progress = make_progress(args.progress)
    if args.actor is None:
        progress.start("sample", 2 * count)
    shot, extra = demo_shot(args.outdir, count, start, args.actor, args.dubber, args.train_minutes,
                            progress.callback(), args.ocio, args.learned)
    progress.finish()
    print(f"shot file: {shot.path}")
    options = argparse.Namespace(start=None, until=None, dry_run=False, force=False, no_report=False, quick=False,
                                 progress=args.progress)
    return run_shot(shot, options, extra)
