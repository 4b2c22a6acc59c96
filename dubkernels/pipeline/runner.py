"""Run any job: per-frame stages through the stage runner, sequence-level kinds through their function."""
from __future__ import annotations

from dubkernels.jobs.kinds import job_kind
from dubkernels.jobs.progress import Progress
from dubkernels.jobs.spec import Job, JobError
from dubkernels.jobs.summary import Summary
from dubkernels.stages.base import Stage, run_stage


def make_stage(job: Job) -> Stage:
    """The Stage object of a per-frame job (its modules are imported now)."""
    kind = job_kind(job.stage)
    if not kind.per_frame:
        raise JobError(f"{kind.name} is not a per-frame stage; run it with `dubkernels run`.")
    job.stage = kind.name
    return kind.load()(job)


def run_job(job: Job, *, force: bool = False, workers: int | None = None,
            progress: Progress | None = None, within: list[int] | None = None) -> Summary:
    """Run one job of any kind; returns what it did. ``within``: only the frames in this farm chunk
    (per-frame kinds only)."""
    kind = job_kind(job.stage)
    job.stage = kind.name
    if kind.per_frame:
        return run_stage(make_stage(job), force=force, workers=workers, progress=progress, within=within)
    if within is not None:
        raise JobError(f"{kind.name} works on the whole sequence; run it without --chunk (one farm task).")
    return kind.load()(job, force=force, progress=progress, workers=workers)
