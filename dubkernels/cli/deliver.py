"""``dubkernels deliver WORKDIR``: write the shot's output from the candidate the report chose (or the shot pins)."""
from __future__ import annotations

import argparse
from pathlib import Path

from dubkernels.cli.common import add_progress_option, positive_int

HELP = "write the dubbed shot from the candidate the report ranked best (or the one the shot file pins)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("deliver", help=HELP, description=HELP + ": the chosen candidate's mouth composited over "
                       "the whole plate into the shot's output. `dub` runs it after the report; a farm runs it as "
                       "the last step, in frame chunks.")
    p.add_argument("work", type=Path, help="the dub's work folder (the shot file's [shot] work)")
    p.add_argument("--chunk", metavar="RANGE", help="a farm chunk: only the frames inside RANGE")
    p.add_argument("--force", action="store_true", help="re-render frames already delivered")
    p.add_argument("--workers", type=positive_int, help="processes (default: one per core)")
    add_progress_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dubkernels.io.sequences import parse_frames
    from dubkernels.jobs.progress import make_progress
    from dubkernels.pipeline.deliver import delivery_job
    from dubkernels.pipeline.runner import run_job
    from dubkernels.report.bar import NAMES

    result, pinned, job = delivery_job(args.work)
    within = parse_frames(args.chunk) if args.chunk else None
    summary = run_job(job, force=args.force, workers=args.workers, progress=make_progress(args.progress),
                      within=within)
    how = "pinned by the shot file" if pinned else "chosen by the report"
    print(f"delivered {NAMES[result]} ({how}): {job.outputs['out']}")
    for note in summary.notes:
        print(f"note: {note}")
    return 0
