"""The dubbed line in the report: its sound under the measured frames, and how it sits on each mouth.

``dub`` writes the line beside the shot's output (the ``line`` step; ``files.json`` names it). The report cuts
the stretch under the frames it measures and correlates its speech envelope with the mouth of every result
(:mod:`dubkernels.metrics.av_sync`), and muxes it into the review movie. The reference, how well the line sits on
the mouth that spoke it, is measured on the dubber take itself: its whole sound against the mouth of every frame
of its own track, at its own frame rate (:func:`take_reference`), not through PoseAlign's render of the shot's
stretch.

Example:
    >>> sound = line_under(files, frames, fps)              # None: the dub has no line
    >>> checks = line_checks(line_envelope(sound, fps, frames), openings, fps)   # name -> AVSync
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from dubkernels.io.audio import Audio, read_audio
from dubkernels.io.frames import frames_per_second
from dubkernels.io.sequences import resolve_sequence
from dubkernels.jobs.spec import load_job
from dubkernels.metrics.av_sync import AVSync, av_sync, speech_envelope
from dubkernels.metrics.lipsync import mouth_opening
from dubkernels.tracks import load_track

NO_LINE = ("the dubber take has no sound (no audio stream, and no [dubber] audio in the shot file): no A/V check, "
           "and the review movie is silent")
LAG_TOLERANCE = 1  # frames either way a delivered shot's A/V lag may sit from 0
R_SHARE = 0.5  # ... and the share of the dubber's own A/V correlation it must keep


def line_under(files: dict[str, str], frames: list[int], fps: float) -> tuple[Audio | None, str | None]:
    """The line's sound under ``frames`` (its first sample at the first of them) and a note when there is none."""
    path = files.get("line")
    if not path:
        return None, NO_LINE
    if not Path(path).is_file():
        return None, f"the line {path} is missing: run `dubkernels dub` again to write it; the review movie is silent"
    sound = read_audio(path)
    if sound is None:
        return None, f"the line {path} holds no sound; run `dubkernels dub` again to write it"
    plate_first = resolve_sequence(files["actor"]).first  # the WAV starts at the actor plate's first frame
    return sound.cut((frames[0] - plate_first) / fps, (frames[-1] - frames[0] + 1) / fps), None


def line_envelope(sound: Audio, fps: float, frames: list[int]) -> np.ndarray:
    """The speech envelope (dB) of the line under ``frames`` (its first sample at the first of them)."""
    envelope = speech_envelope(sound.mono(), sound.rate, fps, frames[-1] - frames[0] + 1)
    return envelope[[f - frames[0] for f in frames]]


def take_reference(work: Path, files: dict[str, str], fallback_fps: float) -> AVSync | None:
    """How the dubber take's own sound sits on its own mouth, over the whole take at its frame rate: the sound the
    ``line`` job cut the line from (with its ``audio_offset``) against the mouth opening of each frame of the
    dubber's track. None where the dub has no line."""
    job_file = work / "jobs" / "line.json"
    if not job_file.is_file() or not files.get("dubber_track") or not Path(files["dubber_track"]).is_file():
        return None
    job = load_job(job_file)
    sound = read_audio(job.inputs["sound"]) if Path(job.inputs["sound"]).is_file() else None
    if sound is None:
        return None
    dubber = resolve_sequence(files["dubber"])
    fps = frames_per_second(dubber.path(dubber.first), dubber.first) or fallback_fps
    track = load_track(files["dubber_track"])
    frames = list(range(track.frames[0], track.frames[-1] + 1))
    landmarks = np.full((len(frames), 68, 2), np.nan)
    for record in track.records:
        if record.landmarks is not None:
            landmarks[record.frame - frames[0]] = record.landmarks
    begin = float(job.params.get("audio_offset", 0.0)) + (frames[0] - dubber.first) / fps
    envelope = speech_envelope(sound.cut(begin, len(frames) / fps).mono(), sound.rate, fps, len(frames))
    return av_sync(envelope, mouth_opening(landmarks), fps)


def line_checks(envelope: np.ndarray, openings: dict[str, np.ndarray], fps: float) -> dict[str, AVSync]:
    """How the line's ``envelope`` sits on each mouth opening curve of the same frames: name -> :class:`AVSync`."""
    return {name: av_sync(envelope, opening, fps) for name, opening in openings.items()}


def av_flags(dubber: AVSync, delivered: AVSync) -> list[str]:
    """What the verdict flags of the delivered shot's A/V sync, against the dubber's own (empty: nothing)."""
    if dubber.verdict != "speech":
        return []
    if delivered.verdict != "speech" or delivered.lag is None:
        return [f"the line does not follow the delivered mouth ({delivered.text()}), while it follows the dubber's "
                f"({dubber.text()})"]
    flags = []
    if abs(delivered.lag) > LAG_TOLERANCE:
        flags.append(f"the delivered mouth sits {delivered.lag:+d} frames off the line (the dubber's {dubber.lag:+d})")
    if delivered.r < R_SHARE * dubber.r:
        flags.append(f"the line follows the delivered mouth far less than the dubber's (r {delivered.r:.2f} against "
                     f"{dubber.r:.2f})")
    return flags
