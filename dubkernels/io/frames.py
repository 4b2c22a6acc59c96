"""EXR frame input/output on OpenImageIO.

A :class:`Frame` keeps everything of a file that a compositor cares about:
every part (subimage) with every channel, the pixel type of each channel
(half stays half), the data window and display window, and all metadata.
Writing a frame read unchanged gives bit-identical pixels.

Writes are atomic (a temporary file in the same folder, then a rename) and
refuse to replace a file the caller names as an input. Lossy compressions
(DWAA, DWAB, B44...) are never re-applied: an output gets a lossless
compression instead and a note says so.

Example:
    >>> frame = read_frame("plate.1001.exr")
    >>> frame.rgb().shape  # (height, width, 3) float32 over the data window
    >>> write_frame("out.1001.exr", frame, provenance={"stage": "copy"})
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import OpenImageIO as oiio

from dubkernels._version import __version__
from dubkernels.errors import FrameError
from dubkernels.io.files import atomic_write

log = logging.getLogger(__name__)

PROVENANCE_ATTRIBUTE = "dubkernels:provenance"
LOSSLESS_FALLBACK = "zip"
_LOSSY_COMPRESSIONS = ("dwaa", "dwab", "b44", "b44a")
_FLOAT32_LOSSY = ("pxr24",)  # lossless for half, lossy for 32-bit float


@dataclass(frozen=True)
class Window:
    """A pixel rectangle: origin (x, y) and size (width, height)."""

    x: int
    y: int
    width: int
    height: int

    @property
    def x_end(self) -> int:
        return self.x + self.width

    @property
    def y_end(self) -> int:
        return self.y + self.height


@dataclass
class Part:
    """One EXR part: its ImageSpec and pixels (height, width, channels) over the data window."""

    spec: oiio.ImageSpec
    pixels: np.ndarray

    @property
    def name(self) -> str:
        return self.spec.get_string_attribute("name", "")


@dataclass
class Frame:
    """An image file as read: all parts, the first being the main (RGBA) part."""

    parts: list[Part]
    path: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def spec(self) -> oiio.ImageSpec:
        return self.parts[0].spec

    @property
    def pixels(self) -> np.ndarray:
        return self.parts[0].pixels

    @property
    def channel_names(self) -> tuple[str, ...]:
        return tuple(self.spec.channelnames)

    @property
    def data_window(self) -> Window:
        s = self.spec
        return Window(s.x, s.y, s.width, s.height)

    @property
    def display_window(self) -> Window:
        s = self.spec
        return Window(s.full_x, s.full_y, s.full_width, s.full_height)

    def describe(self) -> str:
        return str(self.path) if self.path else "<in-memory frame>"

    def rgb_indices(self) -> list[int]:
        """Indices of the R, G, B channels of the main part (named R/G/B or the first three)."""
        names = [n.split(".")[-1].upper() for n in self.channel_names]
        if all(c in names for c in "RGB"):
            return [names.index(c) for c in "RGB"]
        if len(names) >= 3:
            return [0, 1, 2]
        if len(names) == 1:
            return [0, 0, 0]
        raise FrameError(
            f"{self.describe()}: channels {self.channel_names} hold no RGB; "
            "write the plate with R, G and B channels."
        )

    def _rgb_selector(self) -> slice | list[int]:
        idx = self.rgb_indices()
        return slice(idx[0], idx[0] + 3) if idx == list(range(idx[0], idx[0] + 3)) else idx

    def rgb(self) -> np.ndarray:
        """RGB of the data window as float32 (height, width, 3)."""
        return self.pixels[..., self._rgb_selector()].astype(np.float32)

    def window_pixels(self, region: Window, channels: list[int]) -> np.ndarray:
        """``channels`` of the main part over ``region`` as float32, 0 outside the data window."""
        out = np.zeros((region.height, region.width, len(channels)), np.float32)
        dw = self.data_window
        x0, y0 = max(dw.x, region.x), max(dw.y, region.y)
        x1, y1 = min(dw.x_end, region.x_end), min(dw.y_end, region.y_end)
        if x1 > x0 and y1 > y0:
            out[y0 - region.y : y1 - region.y, x0 - region.x : x1 - region.x] = \
                self.pixels[y0 - dw.y : y1 - dw.y, x0 - dw.x : x1 - dw.x][..., channels]
        return out

    def region_rgb(self, region: Window) -> np.ndarray:
        """RGB over ``region`` of the display window as float32 (height, width, 3), 0 outside the data window."""
        disp = self.display_window
        return self.window_pixels(Window(region.x + disp.x, region.y + disp.y, region.width, region.height),
                                  self.rgb_indices())

    def display_rgb(self, fill: float = 0.0) -> np.ndarray:
        """RGB over the display window as float32; pixels outside the data window are ``fill``."""
        dw, disp = self.data_window, self.display_window
        if dw == disp:
            return self.rgb()
        out = np.full((disp.height, disp.width, 3), fill, np.float32)
        x0, y0 = max(dw.x, disp.x), max(dw.y, disp.y)
        x1, y1 = min(dw.x_end, disp.x_end), min(dw.y_end, disp.y_end)
        if x1 > x0 and y1 > y0:
            src = self.pixels[y0 - dw.y : y1 - dw.y, x0 - dw.x : x1 - dw.x][..., self._rgb_selector()]
            out[y0 - disp.y : y1 - disp.y, x0 - disp.x : x1 - disp.x] = src
        return out


def check_finite(rgb: np.ndarray, where: str) -> None:
    """Raise a :class:`FrameError` naming ``where`` if ``rgb`` holds NaN or Inf."""
    bad = ~np.isfinite(rgb)
    if bad.any():
        ys, xs = np.nonzero(bad.any(axis=-1) if bad.ndim == 3 else bad)
        raise FrameError(
            f"{where}: {int(bad.sum())} NaN/Inf pixel values (first at x={xs[0]}, y={ys[0]}); "
            "clean them in comp (e.g. Nuke's Expression or Clamp node) and re-render the plate."
        )


def _open(path: str | os.PathLike[str], frame_number: int | None) -> tuple[str, oiio.ImageInput]:
    """An image file opened for reading, and how errors name it; clear errors when it is absent or unreadable."""
    where = f"{path}" + (f" (frame {frame_number})" if frame_number is not None else "")
    if not Path(path).is_file():
        raise FrameError(f"{where}: file not found; render or copy the frame, or narrow --frames.")
    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        raise FrameError(f"{where}: cannot open ({oiio.geterror().strip()}); the file is corrupt or not an image.")
    return where, inp


def read_frame(path: str | os.PathLike[str], frame_number: int | None = None) -> Frame:
    """Read every part and channel of an image file, keeping pixel types and metadata."""
    where, inp = _open(path, frame_number)
    parts: list[Part] = []
    try:
        subimage = 0
        while inp.seek_subimage(subimage, 0):
            spec = oiio.ImageSpec(inp.spec())
            if spec.deep:
                raise FrameError(f"{where}: deep EXR parts are not supported; flatten the plate first.")
            fmt = oiio.FLOAT if len(spec.channelformats) else oiio.UNKNOWN
            pixels = inp.read_image(subimage, 0, 0, spec.nchannels, fmt)
            if pixels is None or inp.has_error:
                raise FrameError(f"{where}: corrupt pixel data ({inp.geterror().strip()}); re-render the frame.")
            if pixels.ndim == 2:
                pixels = pixels[..., None]
            parts.append(Part(spec, pixels))
            subimage += 1
    finally:
        inp.close()
    if not parts:
        raise FrameError(f"{where}: no image data; re-render the frame.")
    return Frame(parts, Path(path))


def read_region(path: str | os.PathLike[str], region: Window, frame_number: int | None = None) -> Frame:
    """The main part of an image file over ``region`` (clipped to its data window), decoding only the
    scanlines the region crosses: for looking at a face in a large plate, not for writing the plate back.

    ``region`` is in display-window coordinates, where landmarks live ((0, 0) is the display window's
    top left). The result's data window is the clipped region (one pixel when the region misses the data
    window); its display window and metadata are the file's.
    """
    where, inp = _open(path, frame_number)
    try:
        spec = oiio.ImageSpec(inp.spec())
        if spec.deep:
            raise FrameError(f"{where}: deep EXR parts are not supported; flatten the plate first.")
        rx, ry = region.x + spec.full_x, region.y + spec.full_y
        x0, y0 = max(rx, spec.x), max(ry, spec.y)
        x1, y1 = min(rx + region.width, spec.x + spec.width), min(ry + region.height, spec.y + spec.height)
        if x1 <= x0 or y1 <= y0:
            x0, y0, x1, y1 = spec.x, spec.y, spec.x + 1, spec.y + 1
        fmt = oiio.FLOAT if len(spec.channelformats) else oiio.UNKNOWN
        if spec.tile_width:  # tiles: read the whole part (tiled plates are rare; their tiles are small anyway)
            pixels = inp.read_image(0, 0, 0, spec.nchannels, fmt)
            rows = slice(y0 - spec.y, y1 - spec.y)
        else:
            pixels = inp.read_scanlines(0, 0, y0, y1, 0, 0, spec.nchannels, fmt)
            rows = slice(0, y1 - y0)
        if pixels is None or inp.has_error:
            raise FrameError(f"{where}: corrupt pixel data ({inp.geterror().strip()}); re-render the frame.")
    finally:
        inp.close()
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    pixels = np.ascontiguousarray(pixels[rows, x0 - spec.x : x1 - spec.x])
    spec.x, spec.y, spec.width, spec.height = x0, y0, x1 - x0, y1 - y0
    return Frame([Part(spec, pixels)], Path(path))


def read_spec(path: str | os.PathLike[str], frame_number: int | None = None) -> oiio.ImageSpec:
    """The main part's header of an image file, without reading pixels."""
    where = f"{path}" + (f" (frame {frame_number})" if frame_number is not None else "")
    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        raise FrameError(f"{where}: cannot open ({oiio.geterror().strip()}); check the file exists and is an image.")
    try:
        return oiio.ImageSpec(inp.spec())
    finally:
        inp.close()


def frames_per_second(path: str | os.PathLike[str], frame_number: int | None = None) -> float:
    """FramesPerSecond in the header of ``path``, 0 when absent."""
    return float(read_spec(path, frame_number).get_float_attribute("FramesPerSecond", 0.0))


def read_provenance(path: str | os.PathLike[str]) -> dict | None:
    """The ``dubkernels:provenance`` of an image file (None: not an image, or not written by dubkernels)."""
    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        oiio.geterror()  # clear the error state
        return None
    try:
        text = inp.spec().get_string_attribute(PROVENANCE_ATTRIBUTE, "")
    finally:
        inp.close()
    try:
        value = json.loads(text) if text else None
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


_NOT_COPIED = ("compression", "openexr:", "oiio:subimage", "oiio:RowsPerChunk", PROVENANCE_ATTRIBUTE)


def copy_metadata(frame: Frame, source: oiio.ImageSpec) -> None:
    """Give ``frame`` the metadata of ``source`` (timecode, frame rate, camera, colourspace...), not its layout."""
    for attribute in source.extra_attribs:
        if not attribute.name.startswith(_NOT_COPIED):
            frame.spec.attribute(attribute.name, attribute.type, attribute.value)


ZIP_LEVEL = 1  # deflate level of zip-compressed frames: the fastest (a 1080p plate: 104 ms against 124, +0.7 % size)


def lossless_compression(compression: str, formats: Iterable[oiio.TypeDesc]) -> tuple[str, str | None]:
    """Return the compression to write, and a note when a lossy one was replaced. Zip with no level given is
    written at level 1: the same lossless method, a file 1 % larger, written 16 % faster."""
    base = compression.split(":")[0].lower() if compression else "none"
    if base in ("zip", "zips") and ":" not in compression:
        return f"{base}:{ZIP_LEVEL}", None
    float32 = any(f == oiio.FLOAT for f in formats)
    if base in _LOSSY_COMPRESSIONS or (base in _FLOAT32_LOSSY and float32):
        note = (
            f"source compression '{compression}' is lossy; wrote '{LOSSLESS_FALLBACK}' instead "
            "so unchanged pixels stay bit-identical"
        )
        return LOSSLESS_FALLBACK, note
    return compression or LOSSLESS_FALLBACK, None


def _output_spec(part: Part, provenance: str | None) -> tuple[oiio.ImageSpec, str | None]:
    spec = oiio.ImageSpec(part.spec)
    formats = list(spec.channelformats) or [spec.format]
    compression, note = lossless_compression(spec.get_string_attribute("compression", ""), formats)
    spec.attribute("compression", compression)
    for stale in ("openexr:dwaCompressionLevel", "oiio:subimages", "oiio:subimagename"):
        spec.erase_attribute(stale)
    if not spec.get_string_attribute("DateTime"):
        spec.attribute("DateTime", "")  # OpenImageIO stamps the time of writing otherwise: a rerun's bytes would differ
    if provenance is not None:
        spec.attribute(PROVENANCE_ATTRIBUTE, provenance)
    elif '"job"' in spec.get_string_attribute(PROVENANCE_ATTRIBUTE, ""):
        spec.erase_attribute(PROVENANCE_ATTRIBUTE)  # read and written back: no longer what that job made
    return spec, note


def _refuse_inputs(path: Path, protect: Sequence[str | os.PathLike[str]]) -> None:
    for other in protect:
        other = Path(other)
        if path.resolve() == other.resolve() or (path.exists() and other.exists() and path.samefile(other)):
            raise FrameError(
                f"{path}: refusing to write over an input of this run; choose another output pattern."
            )


def write_frame(
    path: str | os.PathLike[str],
    frame: Frame,
    *,
    provenance: dict | None = None,
    protect: Sequence[str | os.PathLike[str]] = (),
) -> list[str]:
    """Write ``frame`` atomically to ``path``; return notes (e.g. a replaced lossy compression).

    ``provenance`` is stored as JSON in the ``dubkernels:provenance`` attribute of every part.
    ``protect`` lists input files the write must never replace.
    """
    path = Path(path)
    _refuse_inputs(path, protect)
    prov = None
    if provenance is not None:
        prov = json.dumps({"dubkernels": __version__, **provenance}, sort_keys=True)
    specs, notes = [], []
    for part in frame.parts:
        spec, note = _output_spec(part, prov)
        specs.append(spec)
        if note and note not in notes:
            notes.append(note)
    pixels = [p.pixels for p in frame.parts]
    atomic_write(path, lambda tmp: _write_parts(tmp, specs, pixels, path), suffix=path.suffix or ".exr")
    for note in notes:
        log.info("%s: %s", path, note)
    return notes


def _write_parts(tmp: str, specs: list[oiio.ImageSpec], pixels: list[np.ndarray], final: Path) -> None:
    out = oiio.ImageOutput.create(tmp)
    if out is None:
        raise FrameError(f"{final}: no writer for this file type ({oiio.geterror().strip()}); use .exr.")
    try:
        if len(specs) > 1 and not out.supports("multiimage"):
            raise FrameError(f"{final}: this format cannot hold {len(specs)} parts; use .exr.")
        ok = out.open(tmp, tuple(specs)) if len(specs) > 1 else out.open(tmp, specs[0])
        for index, (spec, data) in enumerate(zip(specs, pixels)):
            if index > 0:
                ok = ok and out.open(tmp, spec, "AppendSubimage")
            ok = ok and out.write_image(np.ascontiguousarray(data))
            if not ok:
                raise FrameError(f"{final}: write failed ({out.geterror().strip()}); check disk space and permissions.")
    finally:
        out.close()


def new_frame(
    pixels: np.ndarray,
    *,
    channel_names: Sequence[str] = ("R", "G", "B"),
    pixel_type: str = "half",
    data_window: Window | None = None,
    display_window: Window | None = None,
    compression: str = "zip",
    attributes: dict[str, object] | None = None,
) -> Frame:
    """Make a one-part frame from an array (height, width, channels)."""
    if pixels.ndim != 3 or pixels.shape[2] != len(channel_names):
        raise ValueError(f"pixels {pixels.shape} do not match channels {tuple(channel_names)}")
    h, w = pixels.shape[:2]
    spec = oiio.ImageSpec(w, h, len(channel_names), pixel_type)
    spec.channelnames = tuple(channel_names)
    dw = data_window or Window(0, 0, w, h)
    if (dw.width, dw.height) != (w, h):
        raise ValueError(f"data window {dw} does not match pixels {w}x{h}")
    disp = display_window or Window(0, 0, w, h)
    spec.x, spec.y = dw.x, dw.y
    spec.full_x, spec.full_y, spec.full_width, spec.full_height = disp.x, disp.y, disp.width, disp.height
    spec.attribute("compression", compression)
    for key, value in (attributes or {}).items():
        spec.attribute(key, value)
    dtype = np.float16 if pixel_type == "half" else np.float32
    return Frame([Part(spec, pixels.astype(dtype, copy=False))])
