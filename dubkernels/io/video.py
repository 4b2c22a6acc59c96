"""Video ingest: decode a mov/mp4 with PyAV into a scene-linear EXR sequence.

Frames are decoded one at a time (never the whole clip), converted from the
clip's colourspace to the OCIO working space and written as half EXRs that
carry the clip's frame rate, SMPTE timecode (when the clip has one) and
provenance.

Example:
    >>> result = ingest_video("take3.mov", "plates/take3.####.exr")
    >>> result.sequence.first, result.fps, result.timecode
    (1001, Fraction(25, 1), '01:00:00:00')
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import av
import numpy as np
import OpenImageIO as oiio
from timecode import Timecode

from dubkernels.colour import ColourSpaces
from dubkernels.errors import VideoError
from dubkernels.io.frames import Frame, new_frame, write_frame
from dubkernels.io.sequences import FrameSequence, format_frames, output_sequence

DEFAULT_VIDEO_COLOURSPACE = "sRGB Encoded Rec.709 (sRGB)"
MAX_TIMECODE_FPS = 30  # SMPTE frame field holds 0..39; higher rates need frame-pair counting


@dataclass
class IngestResult:
    """What an ingest wrote and what it learnt about the clip."""

    sequence: FrameSequence
    fps: Fraction | None
    timecode: str | None
    frame_count: int
    notes: list[str] = field(default_factory=list)


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise VideoError(f"{path}: video file not found; check the path to the clip.")
    try:
        return av.open(str(path))
    except av.error.FFmpegError as exc:
        raise VideoError(
            f"{path}: not a decodable video ({exc.strerror}); export the clip as mov or mp4 (H.264/ProRes)."
        ) from exc


def _video_stream(container: av.container.InputContainer, path: Path) -> av.VideoStream:
    if not container.streams.video:
        raise VideoError(f"{path}: holds no video stream (audio or data only); ingest a clip with picture.")
    return container.streams.video[0]


def _fps(stream: av.VideoStream) -> Fraction | None:
    rate = stream.average_rate or stream.guessed_rate
    return Fraction(rate) if rate else None


def _timecode_tag(container: av.container.InputContainer, stream: av.VideoStream) -> str | None:
    """The clip's start timecode: video stream tag, container tag, then a timecode (tmcd) track."""
    for metadata in (stream.metadata, container.metadata, *(s.metadata for s in container.streams.data)):
        if metadata.get("timecode"):
            return metadata["timecode"]
    return None


def _start_timecode(tag: str | None, fps: Fraction | None, notes: list[str]) -> Timecode | None:
    if tag is None or fps is None:
        return None
    if fps > MAX_TIMECODE_FPS:
        notes.append(f"timecode {tag} at {float(fps):g} fps is not written per frame (SMPTE frame field tops out at 30 fps)")
        return None
    try:
        return Timecode(fps, tag, force_non_drop_frame=not any(c in tag for c in ";,."))
    except (ValueError, TypeError, KeyError) as exc:
        notes.append(f"timecode tag '{tag}' is unreadable ({exc}); frames carry no timecode")
        return None


def _bcd(value: int) -> int:
    return (value // 10) << 4 | value % 10


def smpte_words(tc: Timecode) -> tuple[int, int]:
    """OpenEXR/SMPTE 12M packing of ``tc``: (BCD time and flags, user bits)."""
    packed = _bcd(int(tc.frs)) | _bcd(tc.secs) << 8 | _bcd(tc.mins) << 16 | _bcd(tc.hrs) << 24
    return packed | (1 << 6 if tc.drop_frame else 0), 0


def _rgb(frame: av.VideoFrame) -> np.ndarray:
    """Decoded picture as float32 RGB 0..1, following the frame's matrix and range tags."""
    deep = frame.format.components[0].bits > 8
    fmt, scale = ("rgb48le", 65535.0) if deep else ("rgb24", 255.0)
    pixels = frame.to_ndarray(format=fmt, src_color_range=frame.color_range, dst_color_range="JPEG")
    return pixels.astype(np.float32) / scale


def _decoded(container: av.container.InputContainer, stream: av.VideoStream, path: Path) -> Iterator[av.VideoFrame]:
    count = 0
    try:
        for frame in container.decode(stream):
            yield frame
            count += 1
    except av.error.FFmpegError as exc:
        raise VideoError(
            f"{path}: decoding failed after {count} frames ({exc.strerror}); the file is truncated "
            "or corrupt: re-export it, or narrow --frames to the part that decodes."
        ) from exc


def clip_frame_count(video_path: str | os.PathLike[str]) -> int:
    """Frame count the clip's container declares (0 when it does not say)."""
    path = Path(video_path)
    with _open(path) as container:
        return _video_stream(container, path).frames


def ingest_video(
    video_path: str | os.PathLike[str],
    out_pattern: str | os.PathLike[str],
    colourspace: str = DEFAULT_VIDEO_COLOURSPACE,
    colour: ColourSpaces | None = None,
    start_frame: int = 1001,
    frames: list[int] | None = None,
    pixel_type: str = "half",
    progress: Callable[[int], object] | None = None,
    skip: set[int] | frozenset[int] = frozenset(),
    provenance: Callable[[int], dict] | None = None,
) -> IngestResult:
    """Decode ``video_path`` into scene-linear EXRs numbered from ``start_frame``.

    ``frames`` picks output frame numbers (decoding stops after the last one);
    ``colourspace`` is the clip's OCIO colourspace (name, alias or role). Frames in
    ``skip`` are decoded past but not written; ``provenance(frame)`` adds keys to a frame's provenance.
    """
    path = Path(video_path)
    output_sequence(out_pattern, [])  # refuses a pattern without a frame placeholder now
    colour = colour or ColourSpaces()
    source = colour.resolve(colourspace)
    wanted = _check_wanted(path, frames, start_frame)
    written: list[int] = []
    decoded_count = 0
    with _open(path) as container:
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        fps, notes = _fps(stream), list[str]()
        tag = _timecode_tag(container, stream)
        start_tc = _start_timecode(tag, fps, notes)
        for index, decoded in enumerate(_decoded(container, stream, path)):
            number, decoded_count = start_frame + index, index + 1
            if wanted is not None and number > wanted[-1]:
                break
            if number in skip:
                written.append(number)
                if progress:
                    progress(1)
            elif wanted is None or number in wanted:
                pixels = colour.convert(_rgb(decoded), source, colour.working)
                frame = _exr_frame(pixels, pixel_type, colour.working, fps, start_tc + index if start_tc else None)
                record = {"stage": "ingest", "source": str(path.resolve()), "source_frame": index,
                          **(provenance(number) if provenance else {})}
                write_frame(output_sequence(out_pattern, [number]).path(number), frame, provenance=record, protect=[path])
                written.append(number)
                if progress:
                    progress(1)
    _check_written(path, wanted, written, start_frame, decoded_count)
    return IngestResult(output_sequence(out_pattern, written), fps, tag, len(written), notes)


def _check_wanted(path: Path, frames: list[int] | None, start_frame: int) -> list[int] | None:
    wanted = sorted(set(frames)) if frames is not None else None
    if wanted is not None and (not wanted or wanted[0] < start_frame):
        raise VideoError(
            f"{path}: --frames {format_frames(wanted)} must start at or after the clip's first frame "
            f"{start_frame}; change --frames or --start."
        )
    return wanted


def _exr_frame(pixels: np.ndarray, pixel_type: str, space: str, fps: Fraction | None, tc: Timecode | None) -> Frame:
    frame = new_frame(pixels, pixel_type=pixel_type, attributes={"oiio:ColorSpace": space})
    if fps is not None:
        frame.spec.attribute("FramesPerSecond", oiio.TypeRational, (fps.numerator, fps.denominator))
    if tc is not None:
        frame.spec.attribute("smpte:TimeCode", oiio.TypeTimeCode, smpte_words(tc))
    return frame


def _check_written(path: Path, wanted: list[int] | None, written: list[int], start_frame: int, count: int) -> None:
    if not count:
        raise VideoError(f"{path}: holds no decodable pictures; re-export the clip.")
    missing = sorted(set(wanted or []) - set(written))
    if missing:
        raise VideoError(
            f"{path}: frames {format_frames(missing)} are past the clip's end (it maps to frames "
            f"{start_frame}-{start_frame + count - 1}); the others were written. Narrow --frames."
        )
