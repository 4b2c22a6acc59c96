"""Previews of an analysis: landmarks and masks burnt into a PNG contact sheet and an MP4.

The contact sheet shows a zoomed face tile per sampled frame (so the lip points
can be judged), the MP4 every frame in full. Colours: green = detected,
yellow = interpolated, cyan = user override, orange = guided,
violet = repaired mouth, red = missing; lips in magenta,
face mask outline in white, mouth mask tinted magenta.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import OpenImageIO as oiio

from dubkernels.colour import ColourSpaces, to_uint8
from dubkernels.errors import FrameError
from dubkernels.face.landmarks68 import MOUTH
from dubkernels.face.masks import Mask, face_mask, mouth_mask
from dubkernels.io.frames import read_frame
from dubkernels.io.sequences import FrameSequence
from dubkernels.tracks import FrameRecord, Track

FLAG_COLOURS = {
    "detected": (60, 220, 60),
    "interpolated": (240, 210, 40),
    "user": (40, 220, 240),
    "guided": (240, 140, 40),
    "repaired": (200, 120, 240),
    "missing": (240, 50, 50),
}
LIP_COLOUR = np.array((255, 60, 255), np.float32)
TILE = 256
COLUMNS = 6
MAX_TILES = 36
MOVIE_LONG_SIDE = 1280


@dataclass
class View:
    """Which part of the plate an image shows: plate point ``origin`` at (0, 0), ``scale`` image px per plate px."""

    origin: tuple[float, float]
    scale: float
    width: int
    height: int

    def points(self, plate_points: np.ndarray) -> np.ndarray:
        return (plate_points - self.origin) * self.scale

    def mask(self, mask: Mask) -> np.ndarray:
        s, (ox, oy), win = self.scale, self.origin, mask.window
        matrix = np.array([[s, 0.0, (win.x - ox) * s], [0.0, s, (win.y - oy) * s]])
        return cv2.warpAffine(mask.values, matrix, (self.width, self.height), flags=cv2.INTER_LINEAR)


@dataclass
class PreviewResult:
    contact_sheet: Path
    movie: Path | None
    frames: int


def burn_in(image: np.ndarray, rec: FrameRecord, view: View) -> np.ndarray:
    """Landmarks, masks and the frame label burnt into a copy of an RGB uint8 image."""
    out = image.copy()
    colour = FLAG_COLOURS[rec.flag]
    if rec.landmarks is not None:
        tint = 0.35 * view.mask(mouth_mask(rec.landmarks))[..., None]
        out = (out * (1.0 - tint) + LIP_COLOUR * tint).astype(np.uint8)
        outline = (view.mask(face_mask(rec.landmarks, feather=0.0)) > 0.5).astype(np.uint8)
        contours, _ = cv2.findContours(outline, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, (255, 255, 255), 1, cv2.LINE_AA)
        radius = max(1, int(round(view.scale * 1.5)))
        for i, (x, y) in enumerate(view.points(rec.landmarks)):
            dot = tuple(int(c) for c in LIP_COLOUR) if i in MOUTH else colour
            cv2.circle(out, (int(round(x)), int(round(y))), radius, dot, -1, cv2.LINE_AA)
    label = f"{rec.frame} {rec.flag}"
    (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
    cv2.rectangle(out, (2, 2), (10 + tw, 10 + th), (0, 0, 0), -1)
    cv2.putText(out, label, (6, 6 + th), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
    return out


def face_view(rec: FrameRecord, fallback: FrameRecord | None, width: int, height: int) -> View:
    """A TILE x TILE view around the face (or around the last known face, or the whole plate)."""
    ref = rec if rec.box is not None else fallback
    if ref is None or ref.box is None:
        scale = TILE / max(width, height)
        return View((0.0, 0.0), scale, TILE, TILE)
    x0, y0, x1, y1 = ref.box
    side = 1.8 * max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return View((cx - side / 2, cy - side / 2 + 0.1 * side), TILE / side, TILE, TILE)


def _render(rgb_u8: np.ndarray, view: View) -> np.ndarray:
    s, (ox, oy) = view.scale, view.origin
    matrix = np.array([[s, 0.0, -ox * s], [0.0, s, -oy * s]])
    return cv2.warpAffine(rgb_u8, matrix, (view.width, view.height), flags=cv2.INTER_LINEAR)


def plate_fps(sequence: FrameSequence, default: Fraction = Fraction(25)) -> Fraction:
    """The FramesPerSecond attribute of the plate's first frame, else ``default``."""
    value = read_frame(sequence.path(sequence.first), sequence.first).spec.getattribute("FramesPerSecond")
    if value and value[1]:
        return Fraction(int(value[0]), int(value[1]))
    return default


def write_png(path: Path, rgb_u8: np.ndarray) -> None:
    """Write an RGB uint8 image as PNG through OpenImageIO."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = oiio.ImageBuf(np.ascontiguousarray(rgb_u8))
    if not buf.write(str(path)):
        raise FrameError(f"{path}: cannot write preview ({buf.geterror()}); check the folder is writable.")


class Movie:
    """An H.264 MP4 written frame by frame with PyAV; with ``sound`` (samples (channels, n) float at ``rate``, its
    first sample at the first frame), an AAC track beside it."""

    def __init__(self, path: Path, width: int, height: int, fps: Fraction, sound: np.ndarray | None = None,
                 rate: int = 48000):
        import av  # here, not at the top: training writes previews as PNG and needs no video library

        path.parent.mkdir(parents=True, exist_ok=True)
        self.av = av
        self.container = av.open(str(path), "w")
        self.stream = self.container.add_stream("libx264", rate=fps)
        self.stream.width, self.stream.height = width, height
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"crf": "20"}
        self.sound, self.rate = sound, rate
        layout = "mono" if sound is None or sound.shape[0] == 1 else "stereo"
        self.audio = None if sound is None else self.container.add_stream("aac", rate=rate, layout=layout)

    def add(self, rgb_u8: np.ndarray) -> None:
        frame = self.av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb_u8), format="rgb24")
        self.container.mux(self.stream.encode(frame))

    def _add_sound(self) -> None:
        """The whole sound, encoded in the codec's frame size."""
        assert self.audio is not None and self.sound is not None
        samples = np.ascontiguousarray(self.sound[:2] if self.sound.shape[0] > 2 else self.sound, np.float32)
        size = self.audio.codec_context.frame_size or 1024
        for start in range(0, samples.shape[1], size):
            chunk = np.ascontiguousarray(samples[:, start : start + size])
            frame = self.av.AudioFrame.from_ndarray(chunk, format="fltp", layout=self.audio.layout.name)
            frame.sample_rate, frame.pts = self.rate, start
            self.container.mux(self.audio.encode(frame))
        self.container.mux(self.audio.encode(None))

    def close(self) -> None:
        self.container.mux(self.stream.encode())
        if self.audio is not None:
            self._add_sound()
        self.container.close()


def render_preview(
    sequence: FrameSequence,
    track: Track,
    outdir: str | Path,
    *,
    colour: ColourSpaces | None = None,
    name: str = "preview",
    movie: bool = True,
    fps: Fraction = Fraction(25),
    progress: Callable[[int], None] | None = None,
) -> PreviewResult:
    """Write ``name``_sheet.png (face tiles of up to MAX_TILES frames) and ``name``.mp4 (every frame)."""
    colour = colour or ColourSpaces()
    source_space = track.settings.get("colourspace") or colour.working
    outdir = Path(outdir)
    frames = [f for f in sequence.frames if f in set(track.frames)]
    step = max(1, math.ceil(len(frames) / MAX_TILES))
    sheet_frames = set(frames[::step])
    scale = min(1.0, MOVIE_LONG_SIDE / max(track.width, track.height))
    mw, mh = 2 * int(track.width * scale / 2), 2 * int(track.height * scale / 2)
    writer = Movie(outdir / f"{name}.mp4", mw, mh, fps) if movie else None
    tiles, last_face = [], None
    try:
        for number in frames:
            rec = track.record(number)
            needs_pixels = writer is not None or number in sheet_frames
            if needs_pixels:
                rgb = to_uint8(colour.to_network(read_frame(sequence.path(number), number).display_rgb(), source_space))
                if number in sheet_frames:
                    view = face_view(rec, last_face, track.width, track.height)
                    tiles.append(burn_in(_render(rgb, view), rec, view))
                if writer is not None:
                    view = View((0.0, 0.0), mw / track.width, mw, mh)
                    writer.add(burn_in(cv2.resize(rgb, (mw, mh), interpolation=cv2.INTER_AREA), rec, view))
            last_face = rec if rec.box is not None else last_face
            if progress:
                progress(1)
    finally:
        if writer is not None:
            writer.close()
    sheet = outdir / f"{name}_sheet.png"
    write_png(sheet, contact_sheet(tiles))
    return PreviewResult(sheet, outdir / f"{name}.mp4" if movie else None, len(frames))


def contact_sheet(tiles: list[np.ndarray]) -> np.ndarray:
    """Tiles laid out COLUMNS wide on a dark grey background."""
    rows = max(1, math.ceil(len(tiles) / COLUMNS))
    cols = min(COLUMNS, max(1, len(tiles)))
    sheet = np.full((rows * (TILE + 4) + 4, cols * (TILE + 4) + 4, 3), 32, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, COLUMNS)
        y, x = 4 + r * (TILE + 4), 4 + c * (TILE + 4)
        sheet[y : y + TILE, x : x + TILE] = tile
    return sheet
