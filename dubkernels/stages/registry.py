"""Stage names and where their classes live (imported on first use)."""
from __future__ import annotations

import importlib

from dubkernels.stages.base import Stage
from dubkernels.stages.job import Job, JobError

STAGES = {
    "pose_align": "dubkernels.stages.pose_align:PoseAlign",
    "identity_swap": "dubkernels.stages.identity_swap:IdentitySwap",
    "stabilize": "dubkernels.stages.stabilize:LandmarkStabilize",
    "mouth_composite": "dubkernels.stages.mouth_composite:MouthComposite",
}


def stage_class(name: str) -> type[Stage]:
    """The Stage subclass registered as ``name``."""
    if name not in STAGES:
        raise JobError(f"unknown stage '{name}'; choose one of {', '.join(STAGES)}.")
    module, cls = STAGES[name].split(":")
    return getattr(importlib.import_module(module), cls)


def make_stage(job: Job) -> Stage:
    return stage_class(job.stage)(job)
