"""Job commands (`ingest`, `analyze`, `train`, the stages) generated from the job-kind declarations,
`run JOB.json` for any kind, and `describe --json`.

Each command builds a job spec and either runs it or writes it (``--write-job``) for Nuke or the
farm. Building the parser imports no torch, dlib or OpenImageIO: only running a job does.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from dubkernels.cli.common import add_colour_options, add_frames_option, add_progress_option, positive_int
from dubkernels.jobs.kinds import KINDS, JobKind, describe
from dubkernels.jobs.spec import Job, save_job

OUTPUT_LABELS = {"ingest": "frames", "analyze": "track", "train": "checkpoint", "train_sr": "checkpoint"}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_run_options(p: argparse.ArgumentParser, per_frame: bool) -> None:
    p.add_argument("--force", action="store_true",
                   help="redo work already done by the same job, and replace files dubkernels did not write")
    if per_frame:
        p.add_argument("--workers", type=positive_int, help="processes for per-frame work (default: one per core)")
    add_progress_option(p)


def _add_param(group: argparse._ArgumentGroup, f: dataclasses.Field[Any]) -> None:
    meta, default = f.metadata, f.default
    text = meta.get("help", f.name.replace("_", " "))
    if isinstance(default, bool):
        group.add_argument(_flag(f.name), action=argparse.BooleanOptionalAction, default=None,
                           help=f"{text} (default: {'on' if default else 'off'})")
    elif isinstance(default, tuple):
        group.add_argument(_flag(f.name), type=float, nargs=meta.get("nargs"), default=None, help=text)
    else:
        shown = f"{default!r}" + (f", {meta['min']} to {meta['max']}" if "min" in meta else "")
        group.add_argument(_flag(f.name), type=type(default), default=None, choices=meta.get("choices"),
                           help=f"{text} (default: {shown})")


def _add_kind_parser(sub: argparse._SubParsersAction, kind: JobKind) -> None:
    p = sub.add_parser(kind.command, aliases=list(kind.aliases), help=kind.help.rstrip("."),
                       description=kind.help + (" Writes EXRs in plate coordinates." if kind.per_frame else ""))
    io = p.add_argument_group("inputs and outputs")
    for port in kind.inputs + kind.outputs:
        metavar = "PATTERN" if port.kind == "sequence" else port.kind.upper()
        if port.positional:
            io.add_argument(port.name, metavar=port.name.upper(), help=port.help)
        else:
            io.add_argument(_flag(port.name), required=not port.optional, metavar=metavar, help=port.help)
    params = p.add_argument_group("parameters")
    for f in dataclasses.fields(kind.params):
        _add_param(params, f)
    add_frames_option(p, default="the whole shot" if kind.per_frame else "all on disk")
    add_colour_options(p)
    _add_run_options(p, kind.per_frame)
    p.add_argument("--write-job", type=Path, metavar="JOB.json", help="write the job spec there instead of running it")
    p.set_defaults(run=lambda args: _run_kind_command(kind, args))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run any job from a JSON job spec (what dub, Nuke and the farm write)",
                       description="Run a job from a JSON job spec. --frames overrides the job's frame range. "
                                   "Relative paths in the spec resolve against its folder.")
    p.add_argument("job", type=Path, nargs="+", help="job spec file(s), run in order (each checked before any runs)")
    add_frames_option(p, default="the job's range")
    p.add_argument("--chunk", metavar="RANGE", help="a farm chunk: only the job's frames inside RANGE (none: "
                                                     "nothing to do); per-frame kinds only")
    _add_run_options(p, per_frame=True)
    p.set_defaults(run=_run_job_command)
    p = sub.add_parser("describe", help="print every job kind's inputs, outputs and parameters",
                       description="The job-kind declarations (inputs, outputs, parameters with types, defaults, "
                                   "ranges and help) that the Nuke nodes build their knobs from.")
    p.add_argument("--json", action="store_true", help="machine-readable JSON (default: a readable list)")
    p.set_defaults(run=_describe)
    for kind in KINDS.values():
        _add_kind_parser(sub, kind)


def job_from_args(kind: JobKind, args: argparse.Namespace) -> Job:
    """The job spec a command line asks for: only parameters given on it are recorded."""
    values = vars(args)
    inputs = {p.name: str(values[p.name]) for p in kind.inputs if values.get(p.name)}
    outputs = {p.name: str(values[p.name]) for p in kind.outputs if values.get(p.name)}
    params: dict[str, Any] = {}
    for f in dataclasses.fields(kind.params):
        value = values.get(f.name)
        if value is not None:
            params[f.name] = list(value) if isinstance(value, (list, tuple)) else value
    return Job(kind.name, inputs, outputs, args.frames, params, args.ocio)


def _run_kind_command(kind: JobKind, args: argparse.Namespace) -> int:
    job = job_from_args(kind, args)
    if args.write_job:
        _check(job)
        save_job(job, args.write_job)
        print(f"job: {args.write_job}")
        return 0
    return _execute(job, args)


def _check(job: Job) -> None:
    """Check a job's kind, ports and parameters before it is written."""
    from dubkernels.jobs.kinds import job_kind
    from dubkernels.jobs.params import parse_params

    kind = job_kind(job.stage)
    parse_params(kind.params, job.params, kind.name)
    kind.check_ports(job)


def _run_job_command(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from dubkernels.jobs.spec import load_job
    from dubkernels.pipeline.ownership import check_job_belongs, job_work_folder
    from dubkernels.pipeline.work_lock import work_lock

    jobs = [load_job(path) for path in args.job]  # a bad one stops the run before any job runs
    for path, job in zip(args.job, jobs):
        if args.frames:
            job.frames = args.frames
        if not args.force:
            check_job_belongs(job, Path(path))
    for path, job in zip(args.job, jobs):
        work = job_work_folder(Path(path))  # a job of a dub: not while a `dub` runs there
        with work_lock(work, f"dubkernels run {path}", shared=True) if work else nullcontext():
            _execute(job, args)
    return 0


def _execute(job: Job, args: argparse.Namespace) -> int:
    from dubkernels.jobs.kinds import job_kind
    from dubkernels.io.sequences import parse_frames
    from dubkernels.jobs.progress import make_progress
    from dubkernels.pipeline.runner import run_job

    progress = make_progress(args.progress)
    workers = args.workers if job_kind(job.stage).per_frame else None  # train's --workers is its own parameter
    within = parse_frames(args.chunk) if getattr(args, "chunk", None) else None
    summary = run_job(job, force=args.force, workers=workers, progress=progress, within=within)
    label = OUTPUT_LABELS.get(summary.stage)
    if label:
        for line in summary.outputs:
            print(f"{label}: {line}")
    if summary.path or not label:
        print(f"{summary.stage}: {len(summary.done)} frames written, {len(summary.skipped)} skipped "
              f"(already done) in {summary.seconds:.1f} s; summary: {summary.path}")
    for note in summary.notes:
        print(f"note: {note}")
    return 0


def _describe(args: argparse.Namespace) -> int:
    data = describe()
    if args.json:
        print(json.dumps(data, indent=1))
        return 0
    for kind in data["kinds"]:
        print(f"{kind['command']}: {kind['help']}")
        for port in kind["inputs"] + kind["outputs"]:
            print(f"  {port['name']} ({port['kind']}{', optional' if port['optional'] else ''}): {port['help']}")
        for param in kind["params"]:
            print(f"  --{param['name'].replace('_', '-')} = {param['default']!r}: {param['help']}")
    return 0
