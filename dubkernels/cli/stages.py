"""Stage subcommands (`pose-align`, `identity-swap` alias `swap`, `stabilize`, `mouth-composite`) and `run JOB.json`.

Every stage subcommand is generated from the stage's declared inputs, outputs and
Params dataclass, builds a job spec, and either runs it or writes it
(``--write-job``) for Nuke or the farm.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from dubkernels.cli.common import add_frames_option, progress_bar, total_setter
from dubkernels.stages.base import Stage, Summary, run_stage
from dubkernels.stages.job import Job, load_job, save_job
from dubkernels.stages.registry import STAGES, make_stage, stage_class


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true", help="re-render frames already written by the same job")
    p.add_argument("--workers", type=int, help="processes for per-frame work (default: one per core)")


def _add_stage_parser(sub: argparse._SubParsersAction, name: str) -> None:
    cls = stage_class(name)
    doc = (cls.__doc__ or name).strip().splitlines()[0]
    p = sub.add_parser(name.replace("_", "-"), aliases=list(cls.aliases), help=doc,
                       description=f"{doc} Writes EXRs in plate coordinates.")
    io = p.add_argument_group("inputs and outputs")
    for key, text in cls.inputs.items():
        io.add_argument(_flag(key), required=True, metavar="PATH", help=text)
    for key, text in cls.outputs.items():
        io.add_argument(_flag(key), required=key not in cls.optional_outputs, metavar="PATTERN", help=text)
    params = p.add_argument_group("parameters")
    for f in dataclasses.fields(cls.Params):
        text = f.metadata.get("help", f.name.replace("_", " "))
        if isinstance(f.default, bool):
            params.add_argument(_flag(f.name), action=argparse.BooleanOptionalAction, default=f.default, help=text)
        else:
            params.add_argument(_flag(f.name), type=type(f.default), default=f.default, help=f"{text} (default: {f.default!r})")
    add_frames_option(p, default="the whole shot")
    _add_run_options(p)
    p.add_argument("--write-job", type=Path, metavar="JOB.json", help="write the job spec there instead of running it")
    p.set_defaults(run=lambda args: _run_stage_command(cls, args))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a stage from a JSON job spec (what Nuke and the farm write)",
                       description="Run a stage from a JSON job spec. --frames overrides the job's frame range.")
    p.add_argument("job", type=Path, help="job spec file")
    add_frames_option(p, default="the job's range")
    _add_run_options(p)
    p.set_defaults(run=_run_job_command)
    for name in STAGES:
        _add_stage_parser(sub, name)


def _job_from_args(cls: type[Stage], args: argparse.Namespace) -> Job:
    values = vars(args)
    inputs = {k: values[k] for k in cls.inputs}
    outputs = {k: values[k] for k in cls.outputs if values.get(k)}
    params = {f.name: values[f.name] for f in dataclasses.fields(cls.Params) if values[f.name] != f.default}
    return Job(cls.name, inputs, outputs, args.frames, params)


def _run_stage_command(cls: type[Stage], args: argparse.Namespace) -> int:
    job = _job_from_args(cls, args)
    if args.write_job:
        cls(job)  # check it before writing it
        save_job(job, args.write_job)
        print(f"job: {args.write_job}")
        return 0
    return _execute(job, args)


def _run_job_command(args: argparse.Namespace) -> int:
    job = load_job(args.job)
    if args.frames:
        job.frames = args.frames
    return _execute(job, args)


def _execute(job: Job, args: argparse.Namespace) -> int:
    stage = make_stage(job)
    with progress_bar(0, job.stage) as bar:
        summary = run_stage(stage, force=args.force, workers=args.workers, progress=bar.update,
                            on_total=total_setter(bar))
    _report(summary)
    return 0


def _report(summary: Summary) -> None:
    print(f"{summary.stage}: {len(summary.done)} frames written, {len(summary.skipped)} skipped "
          f"(already done) in {summary.seconds:.1f} s; summary: {summary.path}")
    for note in summary.notes:
        print(f"note: {note}")
