"""The ``line`` job: the dubbed line's sound, cut to the shot's timeline and written as a WAV.

The actor plate's first frame shows dubber frame ``dubber_offset`` (PoseAlign's mapping, by time where the frame
rates differ), so the line starts ``audio_offset + dubber_offset / dubber fps`` seconds into the sound file and
lasts as long as the actor plate (its frame count over its frame rate). Where the take's sound ends first,
silence follows; the summary says so.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from dubkernels.io.audio import read_audio, write_wav
from dubkernels.io.frames import frames_per_second
from dubkernels.io.sequences import FrameSequence, resolve_sequence
from dubkernels.jobs.progress import Progress
from dubkernels.jobs.spec import Job, JobError
from dubkernels.jobs.summary import Summary
from dubkernels.tasks.common import Task

ASSUMED_FPS = 25.0
SILENT = 1e-5  # peak sample level under which a take's sound is silence (about -100 dBFS)


def _fps(sequence: FrameSequence, what: str, fallback: float, notes: list[str]) -> float:
    """The FramesPerSecond of the sequence's first frame, else ``fallback`` (said in ``notes``)."""
    fps = frames_per_second(sequence.path(sequence.first), sequence.first)
    if fps > 0:
        return fps
    notes.append(f"{sequence}: no FramesPerSecond in the {what}'s EXR headers; {fallback:g} fps assumed for the line")
    return fallback


def run_line(job: Job, *, progress: Progress | None = None, **_: object) -> Summary:
    """Write the job's WAV: the line under the actor plate's frames."""
    start = time.monotonic()
    task = Task.of(job)
    p = task.params
    progress = progress or Progress()
    actor = resolve_sequence(job.inputs["actor"], job.frames)
    dubber = resolve_sequence(job.inputs["dubber"])
    notes: list[str] = []
    actor_fps = _fps(actor, "actor plate", ASSUMED_FPS, notes)
    dubber_fps = _fps(dubber, "dubber take", actor_fps, notes)
    source = Path(job.inputs["sound"])
    progress.start("line", 1, unit="file")
    sound = read_audio(source)
    if sound is None:
        raise JobError(f"{source} has no audio stream: the line cannot be taken from it; give the dubbed line as "
                       "[dubber] audio = \"PATH\" (a WAV, or a file with sound) in the shot file.")
    begin = p.audio_offset + p.dubber_offset / dubber_fps
    seconds = (actor.last - actor.first + 1) / actor_fps
    line = sound.cut(begin, seconds)
    write_wav(job.outputs["out"], line)
    progress.advance(1)
    progress.finish()
    end = sound.start + sound.seconds
    notes.append(f"the line: {seconds:.2f} s ({actor.last - actor.first + 1} frames at {actor_fps:g} fps) from "
                 f"{source.name} at {begin:.3f} s, {line.samples.shape[0]} channel(s) at {line.rate} Hz")
    if begin + seconds > end + 0.5 / actor_fps or begin < sound.start:
        notes.append(f"{source.name}'s sound runs {sound.start:.2f}-{end:.2f} s: silence where the shot is longer")
    if float(np.abs(line.samples).max(initial=0.0)) < SILENT:
        notes.append(f"{source.name}'s sound is silent over the shot: the review movie and Nuke get no line")
    summary = Summary("line", task.identity(), f"{actor.first}-{actor.last}", notes=notes,
                      seconds=time.monotonic() - start)
    summary.outputs = [job.outputs["out"]]
    return summary
