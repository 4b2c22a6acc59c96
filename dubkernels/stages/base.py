"""The stage contract and the runner that executes a per-frame job.

A stage splits its work in two:
- ``prepare()``: sequence-level work over the whole shot (statistics, smoothing),
  run once per job whatever the frame chunk, so chunks agree bit for bit;
- ``render(frame)``: per-frame work returning the frames to write.

The runner resolves the chunk, skips frames already written by the same job for the
same input frames (unless ``force``), refuses to replace files dubkernels did not write
for this output, spreads the rest over worker processes, writes atomically, and leaves
a JSON summary beside the first output.
"""
from __future__ import annotations

import multiprocessing
import os
import time
from abc import ABC, abstractmethod
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, Iterable

from dubkernels.io.frames import Frame, read_provenance, write_frame
from dubkernels.io.sequences import FrameSequence, format_frames, output_sequence, parse_frames
from dubkernels.jobs.identity import digest, frame_key, job_identity
from dubkernels.jobs.kinds import JobKind
from dubkernels.jobs.params import parse_params
from dubkernels.jobs.progress import Progress
from dubkernels.jobs.spec import Job, JobError
from dubkernels.jobs.summary import Summary, write_summary
from dubkernels.stages.common import plate_notes
from dubkernels.tracks import Track


class Stage(ABC):
    """One per-frame stage. Subclasses name their :class:`JobKind` and implement the two kinds of work.

    Instances must stay picklable after ``prepare()`` (plain data only): worker processes receive them.
    """

    kind: ClassVar[JobKind]

    def __init__(self, job: Job):
        self.job = job
        kind = self.kind
        self.params: Any = parse_params(kind.params, job.params, self.name)
        kind.check_ports(job)
        self.rendering: set[int] | None = None  # the frames this run renders, when a farm chunk narrows them

    def plate_notes(self, track: Track, sequence: FrameSequence, frames: list[int], what: str) -> list[str]:
        """:func:`dubkernels.stages.common.plate_notes` over the frames this run renders: a farm chunk checks its
        own plate frames, not every frame of the shot (hashing them all was most of a 40-frame chunk's time)."""
        wanted = frames if self.rendering is None else [f for f in frames if f in self.rendering]
        return plate_notes(track, sequence, wanted, what)

    @property
    def name(self) -> str:
        return self.kind.name

    @abstractmethod
    def frames(self) -> list[int]:
        """Every frame this stage can produce for the shot (the whole range, not the chunk)."""

    @abstractmethod
    def prepare(self) -> list[str]:
        """Sequence-level work over the whole shot; returns notes for the summary."""

    @abstractmethod
    def render(self, frame: int) -> dict[str, Frame]:
        """Per-frame work: the frames to write, by output name."""

    def frame_inputs(self, frame: int) -> list[Path]:
        """The input frame files output ``frame`` is made from (their fingerprints key the output frame)."""
        return [output_sequence(self.job.inputs[p.name], [frame]).path(frame)
                for p in self.kind.inputs if p.kind == "sequence"]

    def frame_plan(self, frame: int) -> Any:
        """What output ``frame`` is drawn from beyond its input frames, JSON-able, for a stage that plans every frame
        over the whole shot; None (the default): the job's identity stands for it. With a plan, a frame whose plan
        and input frames are unchanged is kept when the job changed only other frames' plans."""
        return None

    def batch_size(self) -> int:
        """How many frames one ``render_batch`` call takes (stages running a network batch them)."""
        return 1

    def max_workers(self) -> int | None:
        """At most this many worker processes after ``prepare`` (None: one per core), e.g. 1 on a GPU."""
        return None

    def render_batch(self, frames: list[int]) -> list[dict[str, Frame]]:
        """Per-frame work for several frames at once; by default one ``render`` each."""
        return [self.render(f) for f in frames]


def check_overwrite(path: Path, stage: str, output: str, force: bool) -> None:
    """Refuse to replace an existing file that dubkernels did not write as ``stage``'s ``output``."""
    if force or not path.exists():
        return
    prov = read_provenance(path)
    if prov is None:
        raise JobError(f"{path} exists and was not written by dubkernels; choose another output pattern, "
                       "or pass --force to replace it.")
    if prov.get("stage") != stage or prov.get("output", output) != output:
        raise JobError(f"{path} was written by dubkernels {prov.get('stage')} ({prov.get('output', 'out')}), not "
                       f"{stage} ({output}); choose another output pattern, or pass --force to replace it.")


def output_is_current(path: Path, identity: str | None, key: str) -> bool:
    """True when ``path`` was written by a job with this identity (any, for None: a frame keyed by its plan) from the
    same input frames."""
    prov = read_provenance(path) if path.is_file() else None
    return prov is not None and identity in (None, prov.get("job")) and prov.get("inputs") == key


_WORKER_STAGE: Stage | None = None


def worker_context(modules: Iterable[str] = ()) -> multiprocessing.context.BaseContext:
    """The start method of worker processes: a fork server that imports ``modules`` once (each worker then
    starts in milliseconds, not the seconds a fresh interpreter takes to import OpenImageIO, OpenCV and
    torch), or fresh interpreters where there is no fork server (Windows).

    The modules named by the first call are the ones preloaded: a dub names every stage's at its start.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    global _PRELOADED
    if not _PRELOADED:
        context.set_forkserver_preload(sorted(set(modules)))
        _PRELOADED = True
    return context


_PRELOADED = False


def _init_worker(stage: Stage) -> None:
    global _WORKER_STAGE
    _WORKER_STAGE = stage


def _render_and_write(args: tuple[Stage | None, list[int], dict[str, FrameSequence], str, dict[int, str]]) -> list[int]:
    stage, frames, outputs, identity, keys = args
    stage = stage or _WORKER_STAGE
    assert stage is not None
    for frame, rendered in zip(frames, stage.render_batch(frames)):
        for name, image in rendered.items():
            provenance = {"stage": stage.name, "job": identity, "frame": frame, "inputs": keys[frame], "output": name}
            write_frame(outputs[name].path(frame), image, provenance=provenance)
    return frames


def run_stage(stage: Stage, *, force: bool = False, workers: int | None = None,
              progress: Progress | None = None, within: list[int] | None = None) -> Summary:
    """Run a stage's job: prepare over the whole shot, then render the chunk's frames.

    ``within`` (a farm chunk) keeps only the job's frames inside it; a chunk holding none of them does nothing.
    """
    start = time.monotonic()
    progress = progress or Progress()
    job = stage.job
    if workers is not None and workers < 1:
        raise JobError(f"{stage.name}: --workers {workers} must be at least 1.")
    shot = stage.frames()
    chunk = parse_frames(job.frames) if job.frames else shot
    if within is not None:
        chunk = [f for f in chunk if f in set(within)]
        if not chunk:
            return Summary(stage.name, job_identity(job, stage.kind), "", notes=[
                f"none of its frames ({format_frames(shot)}) are in the chunk {format_frames(within)}; nothing to do"])
    outside = sorted(set(chunk) - set(shot))
    if outside:
        raise JobError(
            f"{stage.name}: frames {format_frames(outside)} are outside the shot ({format_frames(shot)}); "
            "narrow --frames."
        )
    identity = job_identity(job, stage.kind)
    sequences = {p.name for p in stage.kind.outputs if p.kind == "sequence"}
    outputs = {name: output_sequence(pattern, chunk) for name, pattern in job.outputs.items() if name in sequences}
    for name, seq in outputs.items():
        for f in chunk:
            check_overwrite(seq.path(f), stage.name, name, force)
    summary = Summary(stage.name, identity, format_frames(chunk))
    stage.rendering = set(chunk) if within is not None else None
    summary.notes += stage.prepare()
    progress.start(stage.name, len(chunk))
    plans = {f: stage.frame_plan(f) for f in chunk}
    keys = {f: frame_key(identity if plans[f] is None else digest([stage.kind.name, plans[f]]), stage.frame_inputs(f))
            for f in chunk}
    todo = []
    for f in chunk:
        held = None if plans[f] is not None else identity
        if not force and all(output_is_current(seq.path(f), held, keys[f]) for seq in outputs.values()):
            summary.skipped.append(f)
            progress.advance(1, f)
        else:
            todo.append(f)
    size = max(1, stage.batch_size())
    batches = [todo[i : i + size] for i in range(0, len(todo), size)]
    workers = max(1, min(workers or os.cpu_count() or 1, stage.max_workers() or len(batches), len(batches) or 1))
    if workers == 1:
        finished = (_render_and_write((stage, b, outputs, identity, keys)) for b in batches)
        _collect(finished, summary, progress)
    else:
        context = worker_context([type(stage).__module__])
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(stage,)) as pool:
            args = [(None, b, outputs, identity, {f: keys[f] for f in b}) for b in batches]
            try:
                _collect(pool.map(_render_and_write, args), summary, progress)
            except KeyboardInterrupt:  # Ctrl-C or SIGTERM: frames in flight finish, queued ones are dropped
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    progress.finish()
    summary.seconds = time.monotonic() - start
    main = next(iter(outputs.values()))
    summary.path = write_summary(summary, main.pattern, chunk)
    return summary


def _collect(finished: Iterable[list[int]], summary: Summary, progress: Progress) -> None:
    for frames in finished:
        summary.done += frames
        progress.advance(len(frames), frames[-1])


def fail(stage: str, message: str) -> JobError:
    """A user error raised by a stage, prefixed with its name."""
    return JobError(f"{stage}: {message}")
