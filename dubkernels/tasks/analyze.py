"""The ``analyze`` job: a plate's face track, skipped when the same job already wrote it.

The shot's runs of frames (:func:`dubkernels.analysis.segments_of`) are tracked side by side by ``workers``
processes: the track is the same whatever their number.
"""
from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from dubkernels.analysis import (SEGMENT_FRAMES, AnalysisSettings, Segment, SegmentRunner, analyze_sequence,
                                 track_frames)
from dubkernels.colour import colour_spaces
from dubkernels.io.sequences import FrameSequence, resolve_sequence
from dubkernels.jobs.kinds import job_kind
from dubkernels.jobs.progress import Progress
from dubkernels.jobs.spec import Job, JobError
from dubkernels.jobs.summary import Summary
from dubkernels.stages.base import worker_context
from dubkernels.tasks.common import Task
from dubkernels.tracks import TRACK_FORMAT, load_guide, merge_overrides, save_track


def existing_track_job(path: Path, force: bool) -> str | None:
    """The job identity stored in an existing track file; refuses a file that is not a dubkernels track."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        ours = isinstance(data, dict) and data.get("format") == TRACK_FORMAT
    except (ValueError, UnicodeDecodeError, OSError):
        ours, data = False, None
    if not ours:
        if force:
            return None
        raise JobError(f"{path} exists and is not a dubkernels track; choose another --out, or pass --force to "
                       "replace it.")
    return data.get("job") if isinstance(data, dict) else None


def _track_segment(args: tuple[FrameSequence, list[int], AnalysisSettings, str | None,
                                dict[int, np.ndarray] | None]) -> Segment:
    """A worker's run of frames (the colour config loaded in the worker: OCIO objects do not pickle)."""
    sequence, frames, settings, ocio, guide = args
    return track_frames(sequence, frames, settings, colour_spaces(ocio), guide)


def _side_by_side(sequence: FrameSequence, settings: AnalysisSettings, ocio: str | None,
                  guide: dict[int, np.ndarray] | None, workers: int,
                  progress: Callable[[int], None]) -> SegmentRunner:
    """Segments tracked by a pool of ``workers`` processes, the progress advanced as each finishes."""
    def run(segments: list[list[int]]) -> Iterable[Segment]:
        args = [(sequence, frames, settings, ocio, {f: guide[f] for f in frames if f in guide} if guide else None)
                for frames in segments]
        with ProcessPoolExecutor(workers, mp_context=worker_context(job_kind("analyze").worker_modules)) as pool:
            parts = []
            for part in pool.map(_track_segment, args):
                progress(len(part.records))
                parts.append(part)
        return parts
    return run


def run_analyze(job: Job, *, force: bool = False, progress: Progress | None = None, workers: int | None = None,
                **_: object) -> Summary:
    """Analyze the job's plate and write its track (with overrides merged and a guide used, when given)."""
    start = time.monotonic()
    progress = progress or Progress()
    task = Task.of(job)
    p = task.params
    out = Path(job.outputs["out"])
    guide = load_guide(job.inputs["guide"]) if job.inputs.get("guide") else None
    frames = resolve_sequence(job.inputs["plate"], job.frames, must_exist=False).frames
    if guide is not None and p.guide_frames_only:
        frames = tuple(f for f in frames if f in guide)
        if not frames:
            raise JobError(f"analyze: the guide {job.inputs['guide']} covers none of the plate's frames.")
    sequence = resolve_sequence(job.inputs["plate"], list(frames))
    identity = task.identity()
    summary = Summary("analyze", identity, str(sequence), outputs=[str(out)])
    if existing_track_job(out, force) == identity and not force:
        summary.skipped = list(sequence.frames)
        summary.notes.append(f"{out} is current (same plate frames, settings and guide); skipped")
        return summary
    colour = colour_spaces(job.ocio)
    settings = AnalysisSettings(
        detector=p.detector, detect_size=p.detect_size, max_gap=p.max_gap, passthrough_missing=p.passthrough_missing,
        face_hint=(p.face_hint[0], p.face_hint[1]) if p.face_hint else None,
        colourspace=colour.resolve(p.colourspace) if p.colourspace else None,
        predictor=job.inputs.get("predictor"), guide_tolerance=p.guide_tolerance,
        face_jump=p.face_jump, mouth_jump=p.mouth_jump)
    progress.start("analyze", len(sequence))
    workers = max(1, min(workers or os.cpu_count() or 1, -(-len(sequence) // SEGMENT_FRAMES)))
    runner = (_side_by_side(sequence, settings, job.ocio, guide, workers, progress.callback()) if workers > 1
              else None)
    track = analyze_sequence(sequence, settings, colour, progress=progress.callback(), guide=guide, runner=runner)
    progress.finish()
    if job.inputs.get("overrides"):
        merge_overrides(track, job.inputs["overrides"])
    track.job = identity
    save_track(track, out)
    counts = ", ".join(f"{n} {flag}" for flag, n in track.counts().items() if n)
    summary.done = list(sequence.frames)
    summary.notes += track.notes
    summary.outputs = [f"{out} ({len(track.records)} frames: {counts})"]
    summary.seconds = time.monotonic() - start
    return summary
