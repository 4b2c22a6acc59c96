"""Stage job specs: what the Nuke nodes and the farm produce, and `dubkernels run` executes.

A job names a stage, its inputs (sequence patterns, track files, checkpoints),
its outputs (sequence patterns), an optional frame range (a chunk of the shot)
and the stage's parameters:

```json
{"format": "dubkernels-job", "version": 1, "stage": "mouth_composite",
 "inputs": {"actor": "plates/a0.####.exr", "actor_track": "a0.track.json",
            "face": "render/face.####.exr", "face_track": "face.track.json"},
 "outputs": {"out": "comp/comp.####.exr"},
 "frames": "1001-1050", "params": {"grow": 0.15, "blend": "linear"}}
```
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dubkernels.errors import DubKernelsError
from dubkernels.io.files import atomic_write_text, read_json_object

JOB_FORMAT = "dubkernels-job"
JOB_VERSION = 1


class JobError(DubKernelsError):
    """A job spec is malformed or does not fit its stage."""


@dataclass
class Job:
    """One run of one stage."""

    stage: str
    inputs: dict[str, str]
    outputs: dict[str, str]
    frames: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def identity(self) -> str:
        """Digest of what determines the pixels (stage, inputs, params; not the frame chunk).

        Stored in every output frame, so a resumed run re-renders frames made with other settings.
        """
        key = json.dumps({"stage": self.stage, "inputs": self.inputs, "params": self.params}, sort_keys=True)
        return hashlib.blake2b(key.encode(), digest_size=12).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        return {"format": JOB_FORMAT, "version": JOB_VERSION, "stage": self.stage, "inputs": self.inputs,
                "outputs": self.outputs, "frames": self.frames, "params": self.params}


def save_job(job: Job, path: str | os.PathLike[str]) -> None:
    """Write a job spec atomically."""
    atomic_write_text(path, json.dumps(job.as_dict(), indent=2) + "\n")


def load_job(path: str | os.PathLike[str]) -> Job:
    """Read and check a job spec file."""
    path = Path(path)
    data = read_json_object(path, "job", JobError, "write it with a stage command's --write-job")
    if data.get("format") != JOB_FORMAT:
        raise JobError(f"{path}: not a dubkernels job (expected \"format\": \"{JOB_FORMAT}\").")
    if data.get("version") != JOB_VERSION:
        raise JobError(f"{path}: job version {data.get('version')} is not supported (this dubkernels reads {JOB_VERSION}).")
    try:
        job = Job(str(data["stage"]), dict(data["inputs"]), dict(data["outputs"]), data.get("frames"),
                  dict(data.get("params") or {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise JobError(f"{path}: needs 'stage', 'inputs' and 'outputs' objects ({exc!r}).") from exc
    return job
