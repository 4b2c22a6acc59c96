"""Job identities: one digest of everything that changes a job's result.

The identity covers the kind, the parameters that change the result, the OCIO config
in use (its file's content, or its URI), and the content of every input: tracks,
checkpoints and other files by a digest of their bytes; videos and folders by size
and modification time; frame sequences by a cheap per-frame fingerprint (size,
mtime and the frame's own dubkernels provenance). Paths are not part of it, so a
work folder can move. Per-frame kinds leave their sequences out of the job identity
and fold them into a per-frame key instead, so a changed input frame re-renders
exactly that frame.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable

from dubkernels.errors import DubKernelsError
from dubkernels.io.frames import read_provenance
from dubkernels.io.sequences import resolve_sequence
from dubkernels.jobs.kinds import JobKind, Port
from dubkernels.jobs.params import identity_values
from dubkernels.jobs.spec import Job
from dubkernels.tracks import file_digest

BUILTIN_OCIO = "ocio://default"


def digest(value: Any) -> str:
    """A short digest of a JSON-able value."""
    return hashlib.blake2b(json.dumps(value, sort_keys=True).encode(), digest_size=12).hexdigest()


def file_stamp(path: str | os.PathLike[str]) -> list[int] | None:
    """[size, mtime in ns] of a file, None when it is absent."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def frame_fingerprint(path: str | os.PathLike[str]) -> list[Any] | None:
    """Size, mtime and the job/frame key of the frame's own provenance; None when the frame is absent."""
    stamp = file_stamp(path)
    if stamp is None:
        return None
    prov = read_provenance(path) or {}
    return stamp + [prov.get("job"), prov.get("inputs")]


def ocio_source(ocio: str | None) -> str:
    """The OCIO config a job uses: its own, else $OCIO, else OCIO's built-in config."""
    return ocio or os.environ.get("OCIO") or BUILTIN_OCIO


def _ocio_identity(ocio: str | None) -> str:
    source = ocio_source(ocio)
    return file_digest(source) if Path(source).is_file() else source


def _folder_identity(path: Path) -> list[Any]:
    if not path.is_dir():
        return []
    return sorted([p.name, *(file_stamp(p) or [])] for p in path.iterdir() if p.is_file())


def _sequence_identity(pattern: str, frames: str | None) -> str | None:
    """Digest of the frame fingerprints of a sequence (its frames on disk without ``frames``); None: no frames."""
    try:
        sequence = resolve_sequence(pattern, frames, must_exist=False)
    except DubKernelsError:
        return None
    return digest([frame_fingerprint(p) for p in sequence.paths()])


def input_identity(port: Port, value: str, job: Job, kind: JobKind) -> Any:
    """What of input ``port`` (at ``value``) goes into the job identity."""
    path = Path(value)
    if port.kind == "sequence":
        return "per-frame" if kind.per_frame else _sequence_identity(value, job.frames)
    if port.kind in ("track", "checkpoint", "file"):
        return file_digest(path) if path.is_file() else None
    if port.kind == "folder":
        return _folder_identity(path)
    return file_stamp(path)  # video: too big to read for an identity


def identity_parts(job: Job, kind: JobKind, whole_sequences: bool = False) -> dict[str, Any]:
    """What the identity is made of: kind, result-changing params, OCIO config, each input's content.

    ``whole_sequences`` fingerprints a per-frame kind's sequences too (the dub graph's view of a step).
    """
    ports = {p.name: p for p in kind.inputs}
    inputs = {}
    for name, value in sorted(job.inputs.items()):
        if name in ports:
            whole = whole_sequences and ports[name].kind == "sequence"
            inputs[name] = _sequence_identity(value, None) if whole else input_identity(ports[name], value, job, kind)
    return {"stage": kind.name, "params": identity_values(kind.params, job.params),
            "ocio": _ocio_identity(job.ocio), "inputs": inputs}


def job_identity(job: Job, kind: JobKind) -> str:
    """Digest of everything that changes the job's result (not its paths, not its frame chunk)."""
    return digest(identity_parts(job, kind))


def output_identity(port: Port, value: str) -> Any:
    """What is on disk at an output now (None when nothing is): frame fingerprints, file digest, run stamp."""
    path = Path(value)
    if port.kind == "sequence":
        return _sequence_identity(value, None)
    if port.kind == "folder":
        return file_digest(path / "job.json") if (path / "job.json").is_file() else None
    return file_digest(path) if path.is_file() else None


def frame_key(identity: str, input_frames: Iterable[str | os.PathLike[str]]) -> str:
    """The key of one output frame: the job identity and the fingerprints of the input frames it reads."""
    return digest([identity, [frame_fingerprint(p) for p in input_frames]])
