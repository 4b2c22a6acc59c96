"""``dubkernels dub SHOT.toml``: the whole two-pass dub of a shot, resumable, with its report."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from dubkernels.cli.common import add_progress_option
from dubkernels.report.bar import CANDIDATES, TRAINING_FREE

if TYPE_CHECKING:
    from dubkernels.pipeline.shot import Shot

HELP = "dub a shot from its shot file: the paper's two-pass chain, resumable, and the shot report"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dub", help=HELP, description=HELP + ". Every step writes under the work folder; a rerun "
                       "skips what is up to date and says why it runs the rest.")
    p.add_argument("shot", type=Path, nargs="?", help="shot file (TOML); see --template")
    p.add_argument("--template", action="store_true", help="write a commented shot file to SHOT (or print it)")
    p.add_argument("--actor", help="with --template: the actor take to put in it")
    p.add_argument("--dubber", help="with --template: the dubber take to put in it")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a key of the shot file, e.g. --set train.minutes=30 (repeatable)")
    p.add_argument("--train-minutes", type=float, metavar="N", help="bound each training pass (and the FaceSR "
                   "fine-tune) to N minutes "
                   "(a checkpoint, then the chain goes on; a rerun trains on)")
    p.add_argument("--dry-run", action="store_true", help="print the graph and its job specs; run nothing")
    p.add_argument("--from", dest="start", metavar="STEP", help="start at this step (earlier steps must be done)")
    p.add_argument("--until", metavar="STEP", help="stop after this step")
    p.add_argument("--force", action="store_true", help="rerun every step, re-rendering every frame")
    p.add_argument("--no-report", action="store_true", help="skip the shot report at the end")
    p.add_argument("--quick", action="store_true", help="quick look: only the training-free baselines (the actor's "
                   "own mouth, the paste) and their report, to check sync and timing in minutes before training; with "
                   "--set shot.deliver=own_mouth (or own_chin) it delivers the own mouth too (a dub with no training)")
    add_progress_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dubkernels.pipeline.shot import ShotError, load_shot, template

    if args.template:
        folder = (args.shot or Path(".")).resolve().parent
        takes = [_relative(take, folder) for take in (args.actor, args.dubber)]  # given from here, read from there
        text = template(*takes)
        if args.shot is None:
            print(text)
            return 0
        if args.shot.exists():
            raise ShotError(f"{args.shot} exists; choose another name for the template.")
        args.shot.parent.mkdir(parents=True, exist_ok=True)
        args.shot.write_text(text + "\n", encoding="utf-8")
        print(f"shot file: {args.shot} (edit the [actor] and [dubber] sources, then `dubkernels dub {args.shot}`)")
        return 0
    if args.shot is None:
        raise ShotError("give a shot file (write one with `dubkernels dub --template shot.toml`).")
    overrides = list(args.overrides)
    if args.train_minutes is not None:
        overrides += [f"train.minutes={args.train_minutes}", f"train.sr_minutes={args.train_minutes}"]
    shot = load_shot(args.shot, overrides)
    if args.train_minutes is not None and not shot.train.learned_passes():
        print(f"note: --train-minutes bounds the learned passes, which are off (train.learned = "
              f"{shot.train.learned!r} with the {shot.train.preset!r} preset); add --set train.learned=on to train them",
              file=sys.stderr)
    return run_shot(shot, args)


def run_shot(shot: Shot, args: argparse.Namespace, extra_files: dict[str, str] | None = None) -> int:
    """Run a loaded shot with the dub options in ``args``; print where the results are."""
    from dubkernels.jobs.progress import make_progress
    from dubkernels.pipeline.dub import dub_shot

    overall, steps = make_progress(args.progress, 0), make_progress(args.progress, 1)
    log = _logger(args.progress)
    result = dub_shot(shot, start=args.start, until=args.until, dry_run=args.dry_run, force=args.force,
                      report=not args.no_report, extra_files=extra_files, overall=overall, step_progress=steps,
                      quick=args.quick, log=log)
    if args.dry_run:
        for step in result.graph.steps:
            needs = f" (after {', '.join(step.needs)})" if step.needs else ""
            print(f"{step.name}: {step.help}{needs}")
            print("  " + json.dumps(step.job.as_dict()))
        print(f"job specs: {shot.work / 'jobs'}")
        return 0
    ran, skipped = result.run.ran(), result.run.skipped()
    print(f"dub {shot.name}: {len(ran)} steps run, {len(skipped)} up to date")
    if ran:
        print(f"time:         {result.run.seconds(True):.0f} s training, {result.run.seconds(False):.0f} s the other "
              "steps")
    delivered = not args.quick or CANDIDATES.get(shot.deliver) in TRAINING_FREE
    if "deliver" not in ran + skipped and delivered:
        stopped = f"--until {args.until} stopped before it" if args.until else "nothing chose a candidate to deliver"
        print(f"final shot:   not written ({stopped}): {_shown(result.output)} comes with `dubkernels dub "
              f"{shot.path}` run to the end")
    else:
        print(f"{'final shot:  ' if delivered else 'quick look:  '} {_shown(result.output)}")
    if "line" in result.graph.files:
        print(f"the line:     {_shown(result.graph.files['line'])}")
    if result.report is not None:
        print(f"report:       {_shown(result.report.index)}")
        print(f"review movie: {_shown(result.report.movie)}")
        print(f"metrics:      {_shown(result.report.metrics)}")
        if result.report.delivery is not None:
            from dubkernels.report.write import delivery_lines

            print("\n".join(delivery_lines(result.report.data, result.report.delivery)))
    elif shot.deliver != "auto" and delivered:
        print(f"delivered:    {shot.deliver} (pinned by the shot file; no report measured it)")
    return 0


def _shown(path: str | Path) -> str:
    """A path as the user typed around it: relative to the current folder where it lies inside it."""
    relative = os.path.relpath(Path(path).resolve(), Path.cwd())
    return str(path) if relative.startswith("..") else relative


def _relative(take: str | None, folder: Path) -> str:
    """A take given on the command line, as a path relative to the shot file's folder (the file resolves it so)."""
    if not take or "://" in take:
        return take or ""
    return os.path.relpath(Path(take).resolve(), folder)


def _logger(mode: str) -> Callable[[str], None]:
    if mode == "bar":
        from tqdm import tqdm

        def write(text: str) -> None:
            tqdm.write(text, file=sys.stdout)

        return write
    return print
