"""``dubkernels report WORKDIR``: measure a dub and write its report (``dub`` and ``demo`` write it too)."""
from __future__ import annotations

import argparse
from pathlib import Path

from dubkernels.cli.common import add_colour_options, add_progress_option

HELP = "measure a dub (lip sync, identity, fidelity, steadiness, localisation) and write its report"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help=HELP, description=HELP + ": report/index.html (self-contained), "
                       "report/metrics.json and report/review.mp4 in the work folder.")
    p.add_argument("work", type=Path, help="the dub's work folder (the shot file's [shot] work)")
    add_colour_options(p)
    add_progress_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dubkernels.jobs.progress import make_progress
    from dubkernels.report.write import write_report

    report = write_report(args.work, ocio=args.ocio, progress=make_progress(args.progress))
    print(f"report:       {report.index}")
    print(f"review movie: {report.movie}")
    print(f"metrics:      {report.metrics}")
    return 0
