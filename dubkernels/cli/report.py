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
    add_perceptual_options(p)
    add_colour_options(p)
    add_progress_option(p)
    p.set_defaults(run=run)


def add_perceptual_options(p: argparse.ArgumentParser) -> None:
    """--lpips-model and --fid-model: local TorchScript files (nothing downloads at run time)."""
    p.add_argument("--lpips-model", type=Path, metavar="VGG16_PT",
                   help="measure LPIPS with this local vgg16.pt (the StyleGAN2-ADA metrics file); default: skipped")
    p.add_argument("--fid-model", type=Path, metavar="INCEPTION_PT",
                   help="measure FID with this local inception-2015-12-05.pt (the StyleGAN2-ADA metrics file); "
                        "default: skipped")


def run(args: argparse.Namespace) -> int:
    from dubkernels.jobs.progress import make_progress
    from dubkernels.report.write import write_report

    report = write_report(args.work, ocio=args.ocio, progress=make_progress(args.progress),
                          lpips_model=args.lpips_model, fid_model=args.fid_model)
    print(f"report:       {report.index}")
    print(f"review movie: {report.movie}")
    print(f"metrics:      {report.metrics}")
    return 0
