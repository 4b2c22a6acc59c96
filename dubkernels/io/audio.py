"""The sound of a take: read with PyAV, cut to the shot's timeline, written as a WAV.

A dubber take (a mov/mp4, or a separate audio file beside an EXR sequence) carries the dubbed line.
:func:`read_audio` decodes its first audio stream to float samples at 48 kHz, keeping the channels, and
says where the sound starts against the take's picture (an audio stream that starts later than the
video, or earlier, is placed by its start time). :meth:`Audio.cut` takes the stretch the shot shows,
padded with silence where the take has no sound; :func:`write_wav` writes it as 24-bit PCM, atomically.

Example:
    >>> take = read_audio("dubber.mov")           # None: the file has no audio stream
    >>> line = take.cut(start=0.4, seconds=7.2)   # the take's 0.4 s to 7.6 s, silence past its end
    >>> write_wav("final/final.wav", line)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from dubkernels.errors import DubKernelsError
from dubkernels.io.files import atomic_write

RATE = 48000  # samples per second of every line dubkernels writes (film and broadcast sound)
MAX_CHANNELS = 8


class AudioError(DubKernelsError):
    """A sound file cannot be read or written."""


@dataclass
class Audio:
    """Float samples (channels, n) at ``rate``; ``start`` is the first sample's time in seconds on the take's own
    clock (0: its first picture)."""

    samples: np.ndarray
    rate: int = RATE
    start: float = 0.0

    @property
    def seconds(self) -> float:
        return self.samples.shape[1] / self.rate

    def cut(self, start: float, seconds: float) -> Audio:
        """The sound from ``start`` (seconds on the take's clock) for ``seconds``, silence where the take has
        none; its ``start`` is 0 (the first sample is the shot's first frame)."""
        count = int(round(seconds * self.rate))
        first = int(round((start - self.start) * self.rate))
        out = np.zeros((self.samples.shape[0], count), np.float32)
        lo, hi = max(first, 0), min(first + count, self.samples.shape[1])
        if hi > lo:
            out[:, lo - first : hi - first] = self.samples[:, lo:hi]
        return Audio(out, self.rate, 0.0)

    def mono(self) -> np.ndarray:
        """(n,) the channels' mean."""
        return self.samples.mean(axis=0)


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise AudioError(f"{path}: sound file not found; check the path ([dubber] source or audio).")
    try:
        return av.open(str(path))
    except av.error.FFmpegError as exc:
        raise AudioError(f"{path}: not a readable media file ({exc.strerror}); give a WAV, or a mov/mp4 with sound.")\
            from exc


def _start(stream: av.stream.Stream) -> float:
    return float(stream.start_time * stream.time_base) if stream.start_time is not None and stream.time_base else 0.0


def has_audio(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` holds an audio stream (the file must exist and open)."""
    with _open(Path(path)) as container:
        return bool(container.streams.audio)


def read_audio(path: str | os.PathLike[str], rate: int = RATE) -> Audio | None:
    """The first audio stream of ``path`` at ``rate``, placed against its first picture; None where the file has
    no audio stream."""
    path = Path(path)
    with _open(path) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        channels = min(max(stream.channels, 1), MAX_CHANNELS)
        layout = {1: "mono", 2: "stereo"}.get(channels, f"{channels}c")
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                chunks += [r.to_ndarray() for r in resampler.resample(frame)]
            chunks += [r.to_ndarray() for r in resampler.resample(None)]
        except av.error.FFmpegError as exc:
            raise AudioError(f"{path}: decoding the sound failed ({exc.strerror}); re-export the file.") from exc
        picture = _start(container.streams.video[0]) if container.streams.video else _start(stream)
        start = _start(stream) - picture
    samples = np.concatenate(chunks, axis=1) if chunks else np.zeros((channels, 0), np.float32)
    return Audio(samples.astype(np.float32), rate, start)


def write_wav(path: str | os.PathLike[str], audio: Audio) -> None:
    """Write ``audio`` as a 24-bit PCM WAV (temp file, then rename)."""
    channels = audio.samples.shape[0]
    layout = {1: "mono", 2: "stereo"}.get(channels, f"{channels}c")

    def write(tmp: str) -> None:
        with av.open(tmp, "w", format="wav") as container:
            stream = container.add_stream("pcm_s24le", rate=audio.rate, layout=layout)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(np.clip(audio.samples, -1.0, 1.0)), format="fltp",
                                               layout=layout)
            frame.sample_rate = audio.rate
            for packet in stream.encode(frame):
                container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)

    atomic_write(path, write, suffix=".wav")
