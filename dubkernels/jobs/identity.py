"""Job identities: one digest of everything that changes a job's result.

The identity covers the kind, the parameters that change the result, the OCIO config
in use (its file's content, or its URI), and the content of every input: tracks by
their content less the plate's path, checkpoints and other files by a digest of
their bytes; videos and folders by size and modification time; frame sequences
by a cheap per-frame fingerprint: a frame dubkernels wrote by its provenance (the
job and frame key that made it) and size, so a rerun that remakes it bit for bit
keys everything after it the same; any other frame (a plate) by size, modification
time and change time (ctime, which no tool can set back: a plate replaced by other
pixels of the same size with its mtime restored still differs). Paths are not part
of it, so a work folder can move. Per-frame kinds leave their sequences out of the
job identity and fold them into a per-frame key instead, so a changed input frame
re-renders exactly that frame.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any, Iterable

from dubkernels.errors import DubKernelsError
from dubkernels.io.frames import read_provenance
from dubkernels.io.sequences import resolve_sequence
from dubkernels.jobs.kinds import JobKind, Port
from dubkernels.jobs.params import identity_values
from dubkernels.jobs.spec import Job
from dubkernels.tracks import file_digest, stat_key, track_digest

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
    """What a frame is: the job and frame key of its dubkernels provenance and its size, else (a plate) its size,
    mtime and ctime; None when the frame is absent."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    prov = read_provenance(path) or {}
    if prov.get("job"):
        return [prov["job"], prov.get("inputs"), st.st_size]
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def checkpoint_digest(path: Path) -> str:
    """Digest of a checkpoint: a .safetensors file's tensors and its metadata in sorted order (safetensors writes
    the metadata in no fixed order, so one training saved twice differs in bytes only there); any other file's
    bytes."""
    return _safetensors_digest(*stat_key(path)) if path.suffix == ".safetensors" else file_digest(path)


@functools.lru_cache(maxsize=256)
def _safetensors_digest(path: str, size: int, mtime_ns: int, inode: int) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        try:
            length = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(length)) if length < size else None
        except (struct.error, json.JSONDecodeError, UnicodeDecodeError):
            header = None
        if not isinstance(header, dict):  # not readable as safetensors: its bytes (loading it will say why)
            return file_digest(path)
        h.update(json.dumps(header, sort_keys=True).encode())
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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
    if port.kind in ("track", "file"):  # a file input is a track or a landmarks file
        return track_digest(path) if path.is_file() else None
    if port.kind == "checkpoint":
        return checkpoint_digest(path) if path.is_file() else None
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
