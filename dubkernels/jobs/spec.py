"""Job specs: what `dubkernels dub`, the Nuke nodes and the farm write, and `dubkernels run` executes.

A job names a kind (a stage, or ``ingest``, ``analyze``, ``train``), its inputs
(sequence patterns, tracks, checkpoints, clips), its outputs, an optional frame
range (a chunk of the shot), the OCIO config and the kind's parameters:

```json
{"format": "dubkernels-job", "version": 1, "stage": "mouth_composite",
 "inputs": {"actor": "plates/a0.####.exr", "actor_track": "a0.track.json",
            "face": "render/face.####.exr", "face_track": "face.track.json"},
 "outputs": {"out": "comp/comp.####.exr"},
 "frames": "1001-1050", "ocio": null, "params": {"grow": 0.15, "blend": "linear"}}
```

Relative paths in a job file resolve against the job file's folder, so a farm
task finds them wherever it starts. A path may start with ``${DUBKERNELS_ROOT_NAME}``
(a farm job's root folder, as the host mounts it: :mod:`dubkernels.farm.roots`),
which the job's environment sets.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from dubkernels.errors import DubKernelsError
from dubkernels.io.files import atomic_write_text, read_json_object

JOB_FORMAT = "dubkernels-job"
JOB_VERSION = 1
ROOT_PREFIX = "DUBKERNELS_ROOT_"  # a farm job's root folders, in its environment
_ROOT_VARIABLE = re.compile(r"\$\{(" + ROOT_PREFIX + r"[A-Z0-9_]+)\}")


class JobError(DubKernelsError):
    """A job spec is malformed or does not fit its kind."""


def expand_roots(value: str, where: str) -> str:
    """``value`` with each ``${DUBKERNELS_ROOT_NAME}`` replaced by the variable's value; a clear error naming
    ``where`` when the environment does not set it."""
    def replace_one(match: re.Match[str]) -> str:
        found = os.environ.get(match.group(1))
        if not found:
            raise JobError(f"{where}: {value} needs ${{{match.group(1)}}}, which is not set: this was written by "
                           "`dubkernels farm` for its farm job; run it through that job, or set the variable to "
                           "the folder on this machine.")
        return found

    return _ROOT_VARIABLE.sub(replace_one, value)


@dataclass
class Job:
    """One run of one job kind."""

    stage: str
    inputs: dict[str, str]
    outputs: dict[str, str]
    frames: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    ocio: str | None = None  # OCIO config path or URI; None: $OCIO, else OCIO's built-in config

    def as_dict(self) -> dict[str, Any]:
        return {"format": JOB_FORMAT, "version": JOB_VERSION, "stage": self.stage, "inputs": self.inputs,
                "outputs": self.outputs, "frames": self.frames, "ocio": self.ocio, "params": self.params}

    def relative_to(self, folder: Path, where: str = "") -> "Job":
        """The job with its roots expanded (:func:`expand_roots`; errors name ``where``, its file) and relative
        input, output and OCIO paths resolved against ``folder``."""
        def absolute(value: str) -> str:
            value = expand_roots(value, where or str(folder))
            return value if os.path.isabs(value) or "://" in value else os.path.normpath(folder / value)

        return replace(self, inputs={k: absolute(v) for k, v in self.inputs.items()},
                       outputs={k: absolute(v) for k, v in self.outputs.items()},
                       ocio=absolute(self.ocio) if self.ocio else None)


def portable(value: str, root: Path, folder: Path) -> str:
    """``value`` relative to ``folder`` when it is a path under ``root``; else as it is. A folder tree (a work
    folder) written this way can be moved or copied, and what it names moves with it."""
    if not os.path.isabs(value):
        return value
    path = Path(os.path.abspath(value))
    root = Path(os.path.abspath(root))
    return os.path.relpath(path, os.path.abspath(folder)) if path == root or root in path.parents else value


def written_path(value: str, root: Path, folder: Path, outside: Callable[[str], str] | None = None) -> str:
    """How a path is written into a file in ``folder`` of the tree ``root``: relative to ``folder`` when ``root``
    holds it (:func:`portable`), else through ``outside`` (a farm job's roots) where given."""
    near = portable(value, root, folder)
    return outside(near) if outside is not None and near == value else near


def save_job(job: Job, path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None,
             outside: Callable[[str], str] | None = None) -> None:
    """Write a job spec atomically; with ``root``, the paths under it relative to the spec's folder (a job of a
    work folder acts on the folder it is in, moved or copied), and the others through ``outside`` (a farm job's
    roots) where given."""
    if root is not None:
        folder = Path(path).parent

        def written(value: str) -> str:
            return written_path(value, Path(root), folder, outside)

        job = replace(job, inputs={k: written(v) for k, v in job.inputs.items()},
                      outputs={k: written(v) for k, v in job.outputs.items()},
                      ocio=written(job.ocio) if job.ocio else None)
    atomic_write_text(path, json.dumps(job.as_dict(), indent=2) + "\n")


def job_from_dict(data: dict[str, Any], where: str) -> Job:
    """A Job from its JSON form; a clear error naming ``where`` when it is malformed."""
    if data.get("format") != JOB_FORMAT:
        raise JobError(f"{where}: not a dubkernels job (expected \"format\": \"{JOB_FORMAT}\").")
    if data.get("version") != JOB_VERSION:
        raise JobError(f"{where}: job version {data.get('version')} is not supported (this dubkernels reads {JOB_VERSION}).")
    for key, kinds, what in (("frames", (str, type(None)), "a frame range string like \"1001-1100\""),
                             ("ocio", (str, type(None)), "an OCIO config path or ocio:// URI"),
                             ("params", (dict, type(None)), "an object of parameter values"),
                             ("inputs", (dict,), "an object of input paths"),
                             ("outputs", (dict,), "an object of output paths")):
        if key in data and not isinstance(data[key], kinds):
            raise JobError(f"{where}: \"{key}\" is {json.dumps(data[key])}; it must be {what}.")
    for side in ("inputs", "outputs"):
        for name, value in (data.get(side) or {}).items():
            if not isinstance(value, str):
                raise JobError(f"{where}: {side} \"{name}\" is {json.dumps(value)}; it must be a path (a string).")
    try:
        return Job(str(data["stage"]), {k: str(v) for k, v in dict(data["inputs"]).items()},
                   {k: str(v) for k, v in dict(data["outputs"]).items()}, data.get("frames"),
                   dict(data.get("params") or {}), data.get("ocio"))
    except (KeyError, TypeError, ValueError) as exc:
        raise JobError(f"{where}: needs 'stage', 'inputs' and 'outputs' objects ({exc!r}).") from exc


def load_job(path: str | os.PathLike[str]) -> Job:
    """Read and check a job spec file; relative paths in it resolve against its folder."""
    path = Path(path)
    data = read_json_object(path, "job", JobError, "write it with a command's --write-job")
    return job_from_dict(data, str(path)).relative_to(path.resolve().parent, str(path))
