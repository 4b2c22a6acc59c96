"""The ``ingest`` job: a mov/mp4 clip to a scene-linear EXR sequence, resumable and safe to rerun.

Frames already written by the same job are skipped; an existing frame that dubkernels did not
ingest from this clip is never replaced without ``force``.
"""
from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

from dubkernels.colour import colour_spaces
from dubkernels.errors import DubKernelsError
from dubkernels.io.frames import read_provenance
from dubkernels.io.sequences import format_frames, output_sequence, parse_frames, resolve_sequence
from dubkernels.io.video import clip_frame_count, ingest_video
from dubkernels.jobs.identity import digest
from dubkernels.jobs.progress import Progress
from dubkernels.jobs.spec import Job, JobError
from dubkernels.jobs.summary import Summary, write_summary
from dubkernels.tasks.common import Task


def _fps_text(fps: Fraction | None) -> str:
    return f"{float(fps):.3f}".rstrip("0").rstrip(".") + " fps" if fps else "unknown fps"


def _state(path: Path, clip: Path, identity: str, key: str, force: bool, replace_ingested: bool) -> str:
    """'absent', 'current' (same job, same frame) or 'stale' (ours, to redo); refuses files not ours (with
    ``replace_ingested``, frames dubkernels ingested from another clip are ours to redo)."""
    if not path.exists():
        return "absent"
    prov = read_provenance(path)
    ingested = prov is not None and prov.get("stage") == "ingest"
    ours = ingested and prov is not None and prov.get("source") == str(clip.resolve())
    if ingested and replace_ingested:
        return "current" if ours and prov and prov.get("job") == identity and prov.get("inputs") == key else "stale"
    if not ours and not force:
        source = f"ingested from {prov.get('source')}" if prov and prov.get("stage") == "ingest" else \
            "not written by dubkernels ingest"
        raise JobError(f"{path} exists ({source}); ingest into another pattern, or pass --force to replace it.")
    return "current" if ours and prov and prov.get("job") == identity and prov.get("inputs") == key else "stale"


def _remove_leftovers(pattern: str, kept: set[int]) -> list[str]:
    """Remove the frames of ``pattern`` beyond ``kept`` that dubkernels ingested (an earlier, longer clip's); a
    note naming them. Frames written by anything else stay."""
    try:
        on_disk = resolve_sequence(pattern, must_exist=False).frames
    except DubKernelsError:
        return []
    removed = []
    for frame in sorted(set(on_disk) - kept):
        path = output_sequence(pattern, [frame]).path(frame)
        prov = read_provenance(path) if path.exists() else None
        if prov is not None and prov.get("stage") == "ingest":
            path.unlink()
            removed.append(frame)
    return [f"frames {format_frames(removed)}: an earlier clip's, beyond this one's end; removed"] if removed else []


def run_ingest(job: Job, *, force: bool = False, progress: Progress | None = None, **_: object) -> Summary:
    """Decode the job's clip into its output pattern."""
    start = time.monotonic()
    progress = progress or Progress()
    task = Task.of(job)
    clip, pattern = Path(job.inputs["clip"]), job.outputs["out"]
    output_sequence(pattern, [])  # a pattern without a frame placeholder fails now
    colour = colour_spaces(job.ocio)
    colour.resolve(task.params.colourspace)  # so does a bad colourspace, before the bar opens
    identity = task.identity()
    first = task.params.start
    frames = parse_frames(job.frames) if job.frames else None
    known = frames or list(range(first, first + clip_frame_count(clip)))
    def key(frame: int) -> str:
        return digest([identity, frame - first])

    states = {f: _state(output_sequence(pattern, [f]).path(f), clip, identity, key(f), force,
                        task.params.replace_ingested) for f in known}
    skip = {f for f, s in states.items() if s == "current" and not force}
    progress.start("ingest", len(known))
    result = ingest_video(clip, pattern, task.params.colourspace, colour, start_frame=first, frames=frames,
                          progress=progress.callback(), skip=skip,
                          provenance=lambda f: {"job": identity, "inputs": key(f), "output": "out"})
    progress.finish()
    written = sorted(set(result.sequence.frames) - skip)
    notes = list(result.notes)
    if task.params.replace_ingested and frames is None:
        notes += _remove_leftovers(pattern, set(result.sequence.frames))
    summary = Summary("ingest", identity, format_frames(list(result.sequence.frames)), done=written,
                      skipped=sorted(skip), notes=notes, seconds=time.monotonic() - start)
    timecode = f"timecode {result.timecode}" if result.timecode else "no timecode"
    summary.outputs = [f"{result.sequence} ({result.frame_count} frames, {_fps_text(result.fps)}, {timecode})"]
    summary.path = write_summary(summary, pattern, list(result.sequence.frames))
    return summary
