"""Helpers the stages share: checked inputs and face-layer outputs."""
from __future__ import annotations

import numpy as np

from dubkernels.errors import DubKernelsError
from dubkernels.io.frames import Frame, Window, new_frame, read_frame, read_region
from dubkernels.io.sequences import FrameSequence, format_frames, resolve_sequence
from dubkernels.tracks import Track, check_plate, load_track


def plate(pattern: str, frames: list[int], what: str) -> FrameSequence:
    """The input sequence ``pattern`` over ``frames``; missing files are named by frame number."""
    try:
        return resolve_sequence(pattern, frames)
    except DubKernelsError as exc:
        raise DubKernelsError(f"{what}: {exc}") from exc


def track_for(path: str, what: str) -> Track:
    """Load the track of input ``what``."""
    try:
        return load_track(path)
    except DubKernelsError as exc:
        raise DubKernelsError(f"{what}: {exc}") from exc


def plate_notes(track: Track, sequence: FrameSequence, frames: list[int], what: str) -> list[str]:
    """Refuse a track made from another plate; warn (as notes) about frames changed since it was made."""
    return check_plate(track, {f: sequence.path(f) for f in frames}, what)


def require_frames(track: Track, frames: list[int], what: str) -> None:
    """Fail when ``track`` lacks any of ``frames`` (e.g. the track was made for a shorter range)."""
    missing = sorted(set(frames) - set(track.frames))
    if missing:
        raise DubKernelsError(
            f"{what}: track {track.source} has no frames {format_frames(missing)} (it covers "
            f"{track.frame_range_text()}); re-run `dubkernels analyze` over the whole range, or narrow --frames."
        )


def require_size(track: Track, frame: Frame, what: str) -> None:
    """Fail when a frame's display window does not match the resolution its track was made at."""
    disp = frame.display_window
    if (disp.width, disp.height) != (track.width, track.height):
        raise DubKernelsError(
            f"{what}: {frame.describe()} is {disp.width}x{disp.height} but its track was made at "
            f"{track.width}x{track.height}; analyze the plate at the resolution you process."
        )


def read_checked(sequence: FrameSequence, frame: int, track: Track, what: str) -> Frame:
    """Read a frame of an input and check it matches its track's resolution."""
    image = read_frame(sequence.path(frame), frame)
    require_size(track, image, what)
    return image


def read_box(sequence: FrameSequence, frame: int, track: Track, what: str,
             box: tuple[int, int, int, int]) -> tuple[Frame, np.ndarray]:
    """A frame of an input read only over plate box (x0, y0, x1, y1), checked against its track:
    the frame (its header and the region) and the box's RGB (float32, 0 outside the data window)."""
    region = Window(box[0], box[1], box[2] - box[0], box[3] - box[1])
    image = read_region(sequence.path(frame), region, frame)
    require_size(track, image, what)
    return image, image.region_rgb(region)


def face_layer(rgba: np.ndarray, origin: tuple[int, int], display: Window, attributes: dict | None = None) -> Frame:
    """An RGBA half frame in plate coordinates whose data window is the bbox of alpha > 0.

    ``rgba`` (h, w, 4) covers the plate region starting at ``origin`` (x, y).
    """
    alpha = rgba[..., 3] > 0
    if alpha.any():
        ys, xs = np.nonzero(alpha)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    else:
        y0, y1, x0, x1 = 0, 1, 0, 1  # an empty face: one black pixel keeps the file valid
    data = Window(origin[0] + int(x0), origin[1] + int(y0), int(x1 - x0), int(y1 - y0))
    return new_frame(np.ascontiguousarray(rgba[y0:y1, x0:x1]), channel_names=("R", "G", "B", "A"),
                     data_window=data, display_window=display, attributes=attributes)
