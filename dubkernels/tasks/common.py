"""What the sequence-level job kinds share: checked params and ports, and the job identity."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dubkernels.jobs.identity import job_identity
from dubkernels.jobs.kinds import JobKind, job_kind
from dubkernels.jobs.params import parse_params
from dubkernels.jobs.spec import Job


@dataclass
class Task:
    """A checked job of a sequence-level kind."""

    job: Job
    kind: JobKind
    params: Any

    @classmethod
    def of(cls, job: Job) -> "Task":
        kind = job_kind(job.stage)
        params = parse_params(kind.params, job.params, kind.name)
        kind.check_ports(job)
        return cls(job, kind, params)

    def identity(self) -> str:
        return job_identity(self.job, self.kind)
