"""``dubkernels farm SHOT.toml --to openjd|deadline OUTDIR``: the shot's job graph as a farm job."""
from __future__ import annotations

import argparse
from pathlib import Path

from dubkernels.cli.common import positive_int

HELP = "write a shot's dub as a farm job: an Open Job Description bundle or Deadline 10 job files"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("farm", help=HELP, description=HELP + ". The job specs go to the shot's work folder "
                       "(WORK/jobs/), which every worker must see at the same path.")
    p.add_argument("shot", type=Path, help="shot file (TOML)")
    p.add_argument("--to", choices=("openjd", "deadline"), required=True,
                   help="openjd: template.yaml + parameter_values.yaml (openjd run, deadline bundle submit); "
                        "deadline: JobInfo/PluginInfo files per step and submit.py (deadlinecommand)")
    p.add_argument("out", type=Path, metavar="OUTDIR", help="folder for the job files")
    p.add_argument("--chunk", type=positive_int, default=10, metavar="N", help="frames per task of per-frame steps "
                   "(default: 10)")
    p.add_argument("--engine", metavar="PATH", help="absolute path of dubkernels on the workers (default: this one)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a key of the shot file (repeatable)")
    p.add_argument("--gpu-group", default="gpu", metavar="NAME", help="deadline: the group of GPU workers that "
                   "training goes to (default: gpu)")
    p.add_argument("--pool", default="", metavar="NAME", help="deadline: the pool of every job (default: none)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dubkernels.farm.outdir import check
    from dubkernels.farm.plan import plan_farm
    from dubkernels.pipeline.shot import load_shot

    check(args.out)  # before the job specs go into the work folder
    plan = plan_farm(load_shot(args.shot, args.overrides), args.engine)
    for note in plan.notes:
        print(f"note: {note}")
    chunked = [s.name for s in plan.steps if s.chunked]
    gpu = [s.name for s in plan.steps if s.gpu]
    if args.to == "openjd":
        from dubkernels.farm.openjd import LOCAL_VALUES, write_bundle

        path = write_bundle(plan, args.out, args.chunk)
        print(f"job bundle:   {args.out} ({path.name}, parameter_values.yaml, {LOCAL_VALUES})")
        print(f"run locally:  openjd run {path} --job-param file://{(args.out / LOCAL_VALUES).absolute()} "
              "--run-dependencies --step deliver")
        print(f"submit:       deadline bundle submit {args.out}")
    else:
        from dubkernels.farm.deadline import write_jobs

        submit = write_jobs(plan, args.out, args.chunk, args.gpu_group, args.pool)
        print(f"job files:    {args.out} ({len(plan.steps)} jobs)")
        print(f"submit:       python {submit}   (runs deadlinecommand for each job, dependencies in order)")
    on_gpu = f"{len(gpu)} on a GPU: {', '.join(gpu)}" if gpu else "none on a GPU"
    print(f"steps:        {len(plan.steps)} ({len(chunked)} in chunks of {args.chunk} frames, {on_gpu})")
    print(f"job specs:    {plan.work / 'jobs'} (under the WorkDir root: the farm maps the roots per host)")
    return 0
