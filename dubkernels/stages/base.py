"""The stage contract and the runner that executes a job.

A stage splits its work in two:
- ``prepare()``: sequence-level work over the whole shot (statistics, smoothing),
  run once per job whatever the frame chunk, so chunks agree bit for bit;
- ``render(frame)``: per-frame work returning the frames to write.

The runner resolves the chunk, skips frames already written by the same job
identity (unless ``force``), spreads the rest over worker processes, writes
atomically, and leaves a JSON summary beside the first output.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import multiprocessing
import os
import time
from abc import ABC, abstractmethod
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable

import OpenImageIO as oiio

from dubkernels.io.frames import PROVENANCE_ATTRIBUTE, Frame, write_frame
from dubkernels.io.sequences import FrameSequence, format_frames, output_sequence, parse_frames
from dubkernels.stages.job import Job, JobError
from dubkernels.io.files import atomic_write_text

log = logging.getLogger(__name__)


class Stage(ABC):
    """One stage of the pipeline. Subclasses declare names, a ``Params`` dataclass and the two kinds of work.

    Instances must stay picklable after ``prepare()`` (plain data only): worker processes receive them.
    """

    name: ClassVar[str]
    inputs: ClassVar[dict[str, str]]  # input name -> help text
    outputs: ClassVar[dict[str, str]]  # output name -> help text; the first is the main output
    optional_outputs: ClassVar[tuple[str, ...]] = ()
    aliases: ClassVar[tuple[str, ...]] = ()  # other subcommand names, e.g. ``swap``
    Params: ClassVar[type]

    def __init__(self, job: Job):
        self.job = job
        self.params = parse_params(self.Params, job.params, self.name)
        missing = [n for n in self.inputs if n not in job.inputs]
        unknown = [n for n in job.inputs if n not in self.inputs]
        if missing or unknown:
            raise JobError(f"{self.name}: inputs {sorted(job.inputs)} do not match; it needs {list(self.inputs)}.")
        required = [n for n in self.outputs if n not in self.optional_outputs]
        if any(n not in job.outputs for n in required) or any(n not in self.outputs for n in job.outputs):
            raise JobError(f"{self.name}: outputs {sorted(job.outputs)} do not match; it writes {list(self.outputs)}.")
        _refuse_output_over_input(job)

    @abstractmethod
    def frames(self) -> list[int]:
        """Every frame this stage can produce for the shot (the whole range, not the chunk)."""

    @abstractmethod
    def prepare(self) -> list[str]:
        """Sequence-level work over the whole shot; returns notes for the summary."""

    @abstractmethod
    def render(self, frame: int) -> dict[str, Frame]:
        """Per-frame work: the frames to write, by output name."""

    def batch_size(self) -> int:
        """How many frames one ``render_batch`` call takes (stages running a network batch them)."""
        return 1

    def max_workers(self) -> int | None:
        """At most this many worker processes after ``prepare`` (None: one per core), e.g. 1 on a GPU."""
        return None

    def render_batch(self, frames: list[int]) -> list[dict[str, Frame]]:
        """Per-frame work for several frames at once; by default one ``render`` each."""
        return [self.render(f) for f in frames]


def parse_params(cls: type, values: dict[str, Any], stage: str) -> Any:
    """Build a stage's Params dataclass from job values, converting to each field's default type."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise JobError(f"{stage}: unknown parameters {unknown}; it takes {sorted(fields)}.")
    converted: dict[str, Any] = {}
    for key, value in values.items():
        default = fields[key].default
        try:
            if isinstance(default, bool):
                converted[key] = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
            elif isinstance(default, (int, float, str)):
                converted[key] = type(default)(value)
            else:
                converted[key] = value
        except (TypeError, ValueError) as exc:
            raise JobError(f"{stage}: parameter {key}={value!r} should be a {type(default).__name__}.") from exc
    params = cls(**converted)
    check = getattr(params, "check", None)
    if check:
        check(stage)
    return params


def _refuse_output_over_input(job: Job) -> None:
    ins = {str(Path(p).resolve()) for p in job.inputs.values()}
    for name, pattern in job.outputs.items():
        if str(Path(pattern).resolve()) in ins:
            raise JobError(f"{job.stage}: output '{name}' {pattern} is also an input; write to another pattern.")


@dataclass
class Summary:
    """What a run did: written beside the main output as STEM.RANGE.summary.json."""

    stage: str
    job: str
    frames: str
    done: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    path: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "job": self.job, "frames": self.frames,
                "done": format_frames(self.done), "skipped": format_frames(self.skipped),
                "frames_done": len(self.done), "frames_skipped": len(self.skipped),
                "warnings": self.notes, "seconds": round(self.seconds, 2)}


def output_is_current(path: Path, identity: str) -> bool:
    """True when ``path`` is a readable image written by a job with this identity."""
    if not path.is_file():
        return False
    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        return False
    try:
        prov = inp.spec().get_string_attribute(PROVENANCE_ATTRIBUTE, "")
    finally:
        inp.close()
    try:
        return bool(prov) and json.loads(prov).get("job") == identity
    except json.JSONDecodeError:
        return False


_WORKER_STAGE: Stage | None = None


def _init_worker(stage: Stage) -> None:
    global _WORKER_STAGE
    _WORKER_STAGE = stage


def _render_and_write(args: tuple[Stage | None, list[int], dict[str, FrameSequence], str]) -> list[int]:
    stage, frames, outputs, identity = args
    stage = stage or _WORKER_STAGE
    assert stage is not None
    for frame, rendered in zip(frames, stage.render_batch(frames)):
        for name, image in rendered.items():
            provenance = {"stage": stage.name, "job": identity, "frame": frame}
            write_frame(outputs[name].path(frame), image, provenance=provenance)
    return frames


def run_stage(
    stage: Stage,
    *,
    force: bool = False,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> Summary:
    """Run a stage's job: prepare over the whole shot, then render the chunk's frames.

    ``on_total`` hears the number of frames in the chunk, ``progress`` each frame done or skipped.
    """
    start = time.monotonic()
    job = stage.job
    shot = stage.frames()
    chunk = parse_frames(job.frames) if job.frames else shot
    outside = sorted(set(chunk) - set(shot))
    if outside:
        raise JobError(
            f"{stage.name}: frames {format_frames(outside)} are outside the shot ({format_frames(shot)}); "
            "narrow --frames."
        )
    if on_total:
        on_total(len(chunk))
    identity = job.identity()
    outputs = {name: output_sequence(pattern, chunk) for name, pattern in job.outputs.items()}
    summary = Summary(stage.name, identity, format_frames(chunk))
    summary.notes += stage.prepare()
    todo = []
    for f in chunk:
        if not force and all(output_is_current(seq.path(f), identity) for seq in outputs.values()):
            summary.skipped.append(f)
            if progress:
                progress(1)
        else:
            todo.append(f)
    size = max(1, stage.batch_size())
    batches = [todo[i : i + size] for i in range(0, len(todo), size)]
    workers = max(1, min(workers or os.cpu_count() or 1, stage.max_workers() or len(batches), len(batches) or 1))
    if workers == 1:
        finished = (_render_and_write((stage, b, outputs, identity)) for b in batches)
        _collect(finished, summary, progress)
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(stage,)) as pool:
            _collect(pool.map(_render_and_write, [(None, b, outputs, identity) for b in batches]), summary, progress)
    summary.seconds = time.monotonic() - start
    summary.path = _write_summary(summary, next(iter(outputs.values())), chunk)
    return summary


def _collect(finished: Iterable[list[int]], summary: Summary, progress: Callable[[int], None] | None) -> None:
    for frames in finished:
        summary.done += frames
        if progress:
            progress(len(frames))


def _write_summary(summary: Summary, main: FrameSequence, chunk: list[int]) -> Path:
    pattern = Path(main.pattern)
    stem = pattern.name.split("#")[0].split("%")[0].rstrip("._") or summary.stage
    path = pattern.parent / f"{stem}.{format_frames(chunk).replace(',', '_')}.summary.json"
    atomic_write_text(path, json.dumps(summary.as_dict(), indent=1) + "\n")
    return path


def fail(stage: str, message: str) -> JobError:
    """A user error raised by a stage, prefixed with its name."""
    return JobError(f"{stage}: {message}")
