"""The report's pictures: face-region columns (actor | dubber | paste | own mouth | pass 1 | pass 2 | mask) as a
contact sheet on chosen frames and as a review movie of every frame, and matplotlib plots of the
per-frame curves.
"""
from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from dubkernels.colour import ColourSpaces, to_uint8
from dubkernels.io.audio import Audio
from dubkernels.io.frames import Frame, Window, read_region
from dubkernels.io.sequences import output_sequence
from dubkernels.preview import Movie
from dubkernels.report.collect import ShotMetrics
from dubkernels.tracks import Track

COLUMNS = (("actor", "actor A0"), ("dubber_render", "dubber (aligned)"), ("paste", "paste"),
           ("own", "own mouth"), ("own_chin", "own + chin"), ("pass1", "pass 1"), ("pass2", "pass 2"))
FACE_SPAN = 2.6  # the face crop's side, in interocular distances
SHEET_TILE = 256
MOVIE_TILE = 192
THUMB_TILE = 160  # a frame to look at: dubber and result side by side
SHEET_FRAMES = 6
WORST_FRAMES = 3
WORST_APART = 12  # frames between two of the worst frames shown (half a second)
MOUTH_SPAN = 1.3  # the mouth crop's side, in interocular distances (the report's mouth box)
CROP_ZOOM = 4


def _region(square: tuple[float, float, float]) -> Window:
    """The plate pixels a tile of ``square`` (centre x, centre y, side) shows, with a small margin."""
    cx, cy, side = square
    x0, y0 = int(cx - side / 2) - 2, int(cy - side / 2) - 2
    return Window(x0, y0, int(cx + side / 2) + 3 - x0, int(cy + side / 2) + 3 - y0)


def _frame(pattern: str, frame: int, square: tuple[float, float, float]) -> tuple[Frame, Window] | None:
    """Frame ``frame`` of ``pattern`` read over the tile's region (None when the file is absent)."""
    path = output_sequence(pattern, [frame]).path(frame)
    return (read_region(path, _region(square), frame), _region(square)) if path.is_file() else None


def face_square(track: Track, frames: list[int]) -> dict[int, tuple[float, float, float]]:
    """Per frame the crop (centre x, centre y, side) around the actor's face; the side is fixed over the shot."""
    centres, iods = {}, []
    for f in frames:
        lm = track.record(f).landmarks
        if lm is not None:
            centres[f] = lm[27:68].mean(axis=0)
            iods.append(float(np.linalg.norm(lm[36:42].mean(axis=0) - lm[42:48].mean(axis=0))))
    side = FACE_SPAN * float(np.median(iods)) if iods else 256.0
    last = np.array([track.width / 2, track.height / 2])
    out = {}
    for f in frames:
        last = centres.get(f, last)
        out[f] = (float(last[0]), float(last[1]), side)
    return out


def tile(read: tuple[Frame, Window] | None, square: tuple[float, float, float], size: int, colour: ColourSpaces,
         label: str, mask: bool = False, pixels: bool = False) -> np.ndarray:
    """A labelled ``size`` square around ``square`` in network space of a frame read over a region
    (black when absent); ``pixels`` enlarges without smoothing, each plate pixel a block."""
    out: np.ndarray = np.zeros((size, size, 3), np.uint8)
    cx, cy, side = square
    rgb, x0, y0 = None, 0, 0
    if read is not None:
        frame, region = read
        rgb, x0, y0 = frame.region_rgb(region), region.x, region.y
    if rgb is not None and rgb.size:  # only the face region is converted (a mask comes as grey RGB)
        image = to_uint8(rgb if mask else colour.to_network(rgb))
        scale = size / side
        matrix = np.array([[scale, 0.0, size / 2 - (cx - x0) * scale], [0.0, scale, size / 2 - (cy - y0) * scale]])
        smooth = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        out = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_NEAREST if pixels else smooth)
    cv2.putText(out, label, (6, size - 8), cv2.FONT_HERSHEY_SIMPLEX, size / 512, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def columns(results: list[str]) -> list[tuple[str, str]]:
    """(files key, label) of each column: actor, dubber, the results measured, the last result's mask."""
    shown = [(key, label) for key, label in COLUMNS if key in ("actor", "dubber_render") or key in results]
    return shown + [(f"{results[-1]}_mask", "mask")]


def row(files: dict[str, str], frame: int, square: tuple[float, float, float], size: int,
        colour: ColourSpaces, results: list[str]) -> np.ndarray:
    """The columns of one frame side by side."""
    tiles = [tile(_frame(files[key], frame, square), square, size, colour, label if key != "actor" else f"{label} {frame}",
                  mask=key.endswith("mask")) for key, label in columns(results)]
    return np.concatenate(tiles, axis=1)


def chosen_frames(metrics: ShotMetrics, count: int = SHEET_FRAMES) -> list[int]:
    """Frames spread over the dubber's mouth openings (closed to wide open), in shot order."""
    opening = np.asarray(metrics.curves.get("opening_dubber", []), np.float64)
    frames = metrics.frames
    valid = [i for i in range(len(frames)) if i < len(opening) and np.isfinite(opening[i])]
    if not valid:
        return frames[:: max(1, len(frames) // count)][:count]
    ranked = sorted(valid, key=lambda i: opening[i])
    picks = {ranked[round(q * (len(ranked) - 1))] for q in np.linspace(0, 1, min(count, len(ranked)))}
    return [frames[i] for i in sorted(picks)]


def contact_sheet(files: dict[str, str], track: Track, frames: list[int], colour: ColourSpaces,
                  results: list[str]) -> np.ndarray:
    """Rows of chosen frames, columns actor | dubber | paste | own mouth | pass 1 | pass 2 | mask."""
    squares = face_square(track, frames)
    return np.concatenate([row(files, f, squares[f], SHEET_TILE, colour, results) for f in frames], axis=0)


def worst_frames(metrics: ShotMetrics, result: str, count: int = WORST_FRAMES, apart: int = WORST_APART) -> list[int]:
    """The ``count`` frames where ``result``'s mouth is furthest from the dubber's (its LMD), at least ``apart``
    frames from each other (three moments, not one moment three times), in shot order."""
    lmd = np.asarray(metrics.curves.get(f"lmd_{result}", []), np.float64)
    picked: list[int] = []
    for i in np.argsort(-np.nan_to_num(lmd, nan=-np.inf)):
        if len(picked) == count or not np.isfinite(lmd[i]):
            break
        if all(abs(int(i) - j) >= apart for j in picked):
            picked.append(int(i))
    return [metrics.frames[i] for i in sorted(picked)]


def mouth_square(track: Track, frame: int) -> tuple[float, float, float] | None:
    """The crop (centre x, centre y, side) around the actor's mouth at ``frame``: ``MOUTH_SPAN`` interocular
    distances square; None without a face."""
    lm = track.record(frame).landmarks
    if lm is None:
        return None
    cx, cy = lm[48:68].mean(axis=0)
    return float(cx), float(cy), MOUTH_SPAN * float(np.linalg.norm(lm[36:42].mean(axis=0) - lm[42:48].mean(axis=0)))


def crop_sheet(files: dict[str, str], track: Track, frames: list[int], colour: ColourSpaces, result: str,
               label: str) -> np.ndarray | None:
    """Rows of ``frames``, columns actor | dubber (aligned) | ``result``: the mouth at ``CROP_ZOOM`` times its
    pixels, each a block, to judge seams, streaks and doubled lips; None without a frame to show."""
    rows = []
    for f in frames:
        square = mouth_square(track, f)
        if square is None:
            continue
        size = int(round(CROP_ZOOM * square[2]))
        rows.append(np.concatenate([tile(_frame(files[key], f, square), square, size, colour, name, pixels=True)
                                    for key, name in (("actor", f"actor A0 {f}"), ("dubber_render", "dubber"),
                                                      (result, label))], axis=1))
    if not rows:
        return None
    width = max(r.shape[1] for r in rows)
    return np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows], axis=0)


def look_thumb(files: dict[str, str], track: Track, frame: int, colour: ColourSpaces, result: str,
               label: str) -> np.ndarray | None:
    """The mouth at ``frame``: dubber (aligned) | ``result``, ``THUMB_TILE`` square each; None without a face."""
    square = mouth_square(track, frame)
    if square is None:
        return None
    return np.concatenate([tile(_frame(files[key], frame, square), square, THUMB_TILE, colour, name)
                           for key, name in (("dubber_render", f"dubber {frame}"), (result, label))], axis=1)


def review_movie(path: Path, files: dict[str, str], track: Track, frames: list[int], colour: ColourSpaces,
                 fps: Fraction, results: list[str], sound: Audio | None = None,
                 progress: Callable[[int], None] | None = None) -> Path:
    """Every frame's columns side by side as an H.264 MP4, with the line's ``sound`` (from the first frame) when
    there is one."""
    squares = face_square(track, frames)
    movie = (Movie(path, MOVIE_TILE * len(columns(results)), MOVIE_TILE, fps) if sound is None else
             Movie(path, MOVIE_TILE * len(columns(results)), MOVIE_TILE, fps, sound.samples, sound.rate))
    try:
        for f in frames:
            movie.add(row(files, f, squares[f], MOVIE_TILE, colour, results))
            if progress:
                progress(1)
    finally:
        movie.close()
    return path


def plot_png(metrics: ShotMetrics) -> bytes:
    """Mouth-opening curves (result, dubber, actor, truth) with the dubber's closed and open frames shaded, the
    mouth-shape curves (movement along the dubber's first principal component), per-frame LMD and mouth PSNR,
    as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    frames = metrics.frames
    fig, axes = plt.subplots(4, 1, figsize=(10, 12), sharex=True)
    styles = {"actor": ("grey", "actor A0"), "dubber": ("black", "dubber (aligned)"), "truth": ("green", "truth"),
              "paste": ("tab:orange", "paste"), "own": ("tab:purple", "own mouth"),
              "own_chin": ("tab:pink", "own mouth + chin"), "pass1": ("tab:blue", "pass 1"),
              "pass2": ("tab:red", "pass 2")}
    for key, (colour, label) in styles.items():
        curve = metrics.curves.get(f"opening_{key}")
        if curve is not None:
            axes[0].plot(frames, curve, color=colour, label=label, lw=1.8 if key == "pass2" else 1.0)
    states = np.array(metrics.curves.get("closure_dubber", []), np.float64)
    if len(states) == len(frames):  # the dubber's lips clearly closed (blue) or open (orange)
        for state, colour in ((0.0, "tab:blue"), (1.0, "tab:orange")):
            axes[0].fill_between(frames, 0, 1, where=states == state, color=colour, alpha=0.08,
                                 transform=axes[0].get_xaxis_transform(), lw=0)
    axes[0].set_ylabel("mouth opening / IOD")
    axes[0].legend(loc="upper right", fontsize=8, ncol=3)
    for key in ("dubber", *metrics.results):
        colour, label = styles[key]
        curve = metrics.curves.get(f"shape_{key}")
        if curve is not None:
            axes[1].plot(frames, curve, color=colour, label=label, lw=1.0)
    axes[1].set_ylabel("mouth shape (dubber's 1st component)")
    for key in metrics.results:
        colour, label = styles[key]
        axes[2].plot(frames, metrics.curves[f"lmd_{key}"], color=colour, label=label, lw=1.0)
        axes[3].plot(frames, metrics.curves[f"mouth_psnr_{key}"], color=colour, label=label, lw=1.0)
    axes[2].set_ylabel("LMD vs dubber (/ IOD)")
    axes[3].set_ylabel("mouth-box PSNR vs A0 (dB)")
    axes[3].set_xlabel("frame")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()
