"""LandmarkStabilize (paper 3.3.1): take the jitter out of the reenacted face layer.

Sequence-level (``prepare``, over the whole track so farm chunks agree): the
face layer's 68 landmarks, divided by the shot's median interocular distance
(so ``beta`` is in face sizes per second), smoothed with the 1 Euro filter;
then per frame the 2D similarity (rotation, uniform scale, shift) that maps the
raw stable landmarks (brows, nose, eyes; the mouth moves legitimately) onto
the smoothed ones. With ``zero_lag`` (the default) the filter runs forwards and
backwards and the two are averaged, so the face does not trail the head.

Per frame (``render``): the premultiplied RGBA layer warped by its similarity.
Frames without a face in the track pass through unchanged.
"""
from __future__ import annotations

import cv2
import numpy as np
from skimage.transform import SimilarityTransform

from dubkernels.errors import DubKernelsError
from dubkernels.face.landmarks68 import STABLE, interocular
from dubkernels.face.one_euro import OneEuroFilter, zero_lag
from dubkernels.io.frames import Frame, Window, copy_metadata, frames_per_second
from dubkernels.io.sequences import FrameSequence, format_frames, parse_frames, resolve_sequence
from dubkernels.jobs.kinds import KINDS
from dubkernels.jobs.params import StabilizeParams
from dubkernels.stages.base import Stage
from dubkernels.stages.common import face_layer, read_checked, require_frames, track_for
from dubkernels.tracks import Track, save_landmarks

DEFAULT_FPS = 25.0
INTERPOLATION = cv2.INTER_CUBIC  # 4x4 kernel: sharp, little ringing, fast
MARGIN_PX = 3  # the warped layer's window reaches this far past its moved corners (kernel reach + rounding)
RGBA = ("R", "G", "B", "A")


def _face_size(landmarks: np.ndarray) -> float:
    """Median interocular distance over the frames (N, 68, 2) that have a face (1 when none has)."""
    sizes = [interocular(points) for points in landmarks if np.isfinite(points).all()]
    return float(np.median(sizes)) if sizes else 1.0


def jitter(landmarks: np.ndarray) -> float:
    """Mean second difference of the stable landmarks (N, 68, 2), in median interocular distances.

    Frames without a face (NaN) are left out; 0 when no three consecutive frames have one.
    """
    stable = landmarks[:, list(STABLE)]
    second = np.linalg.norm(stable[2:] - 2.0 * stable[1:-1] + stable[:-2], axis=-1)
    second = second[np.isfinite(second)]
    return float(second.mean() / _face_size(landmarks)) if second.size else 0.0


def _runs(valid: np.ndarray) -> list[slice]:
    """Slices of the consecutive True runs of a boolean vector."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], valid.astype(np.int8), [0]])))
    return [slice(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def _one_euro(points: np.ndarray, times: np.ndarray, params: StabilizeParams) -> np.ndarray:
    """1 Euro filter over a run of frames; with ``zero_lag`` the mean of a forward and a backward pass."""
    if params.zero_lag:
        return zero_lag(points, times, params.min_cutoff, params.beta, params.d_cutoff)
    f = OneEuroFilter(params.min_cutoff, params.beta, params.d_cutoff)
    return np.stack([f(p, t) for p, t in zip(points, times)])


def smooth_landmarks(landmarks: np.ndarray, times: np.ndarray, params: StabilizeParams) -> np.ndarray:
    """Smoothed (N, 68, 2) landmarks; each run of frames with a face is filtered afresh, NaN frames stay NaN."""
    size = _face_size(landmarks)
    out = np.full_like(landmarks, np.nan, dtype=np.float64)
    for run in _runs(np.isfinite(landmarks).all(axis=(1, 2))):
        out[run] = _one_euro(landmarks[run] / size, times[run], params) * size
    return out


def similarities(raw: np.ndarray, smoothed: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Per frame the 2x3 similarity taking raw stable landmarks onto smoothed ones, (N, 2, 3).

    NaN for frames without a face; identity (and listed as failed) where the estimation fails.
    """
    matrices = np.full((len(raw), 2, 3), np.nan)
    failed = []
    for i, (src, dst) in enumerate(zip(raw[:, list(STABLE)], smoothed[:, list(STABLE)])):
        if not np.isfinite(src).all():
            continue
        found = SimilarityTransform.from_estimate(src, dst)
        matrices[i] = found.params[:2] if found else np.eye(3)[:2]
        if not found:
            failed.append(i)
    return matrices, failed


def apply_matrices(matrices: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Points (N, P, 2) moved by their frame's 2x3 matrix (N, 2, 3)."""
    return np.einsum("nij,npj->npi", matrices[:, :, :2], landmarks) + matrices[:, None, :, 2]


def target_region(data: Window, matrix: np.ndarray, display: Window) -> Window:
    """The window a layer over ``data`` can reach once warped by ``matrix``, inside ``display``."""
    corners = np.array([[data.x, data.y], [data.x_end, data.y], [data.x, data.y_end], [data.x_end, data.y_end]])
    moved = corners @ matrix[:, :2].T + matrix[:, 2]
    x0, y0 = np.maximum(np.floor(moved.min(axis=0)).astype(int) - MARGIN_PX, (display.x, display.y))
    x1, y1 = np.minimum(np.ceil(moved.max(axis=0)).astype(int) + MARGIN_PX, (display.x_end, display.y_end))
    if x1 <= x0 or y1 <= y0:  # warped off screen: one empty pixel
        return Window(display.x, display.y, 1, 1)
    return Window(int(x0), int(y0), int(x1 - x0), int(y1 - y0))


def warp_rgba(rgba: np.ndarray, origin: tuple[int, int], matrix: np.ndarray, region: Window) -> np.ndarray:
    """Warp premultiplied RGBA whose first pixel sits at plate ``origin`` by plate-space ``matrix`` into ``region``.

    Alpha is clamped to 0..1; cubic undershoot in RGB is clipped only where alpha is 0.
    """
    local = np.array(matrix, dtype=np.float64)
    local[:, 2] += local[:, :2] @ origin - np.array([region.x, region.y])
    out = cv2.warpAffine(rgba.astype(np.float32), local, (region.width, region.height), flags=INTERPOLATION,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=(0.0, 0.0, 0.0, 0.0))
    np.clip(out[..., 3], 0.0, 1.0, out=out[..., 3])
    clear = out[..., 3] == 0.0
    out[clear, :3] = np.maximum(out[clear, :3], 0.0)
    return out


def _rgba(image: Frame) -> np.ndarray:
    names = [n.split(".")[-1].upper() for n in image.channel_names]
    if not all(c in names for c in RGBA):
        raise DubKernelsError(f"face: {image.describe()} has channels {image.channel_names}; a face layer needs "
                              "R, G, B and A (premultiplied), as PoseAlign and IdentitySwap write.")
    return image.pixels[..., [names.index(c) for c in RGBA]]


class LandmarkStabilize(Stage):
    """Smooth the face layer's landmarks and move each frame onto the smoothed track."""

    kind = KINDS["stabilize"]

    def _inputs(self) -> tuple[FrameSequence, Track]:
        try:
            face = resolve_sequence(self.job.inputs["face"])
        except DubKernelsError as exc:
            raise DubKernelsError(f"face: {exc}") from exc
        track = track_for(self.job.inputs["face_track"], "face_track")
        require_frames(track, list(face.frames), "face_track")
        return face, track

    def frames(self) -> list[int]:
        """The frames of the face layer on disk (or in its pattern's range)."""
        return list(self._inputs()[0].frames)

    def prepare(self) -> list[str]:
        self.face, self.track = self._inputs()
        fps, notes = self._fps()
        chunk = parse_frames(self.job.frames) if self.job.frames else list(self.face.frames)
        notes += self.plate_notes(self.track, self.face, chunk, "face_track")
        raw = self.track.landmarks_array()
        smoothed = smooth_landmarks(raw, np.array(self.track.frames, np.float64) / fps, self.params)
        matrices, failed = similarities(raw, smoothed)
        frames = self.track.frames
        self.transforms = {f: m for f, m in zip(frames, matrices) if np.isfinite(m).all()}
        moved = apply_matrices(matrices, raw)
        if "landmarks" in self.job.outputs:
            save_landmarks(self.job.outputs["landmarks"],
                           {f: lm for f, lm in zip(frames, moved) if np.isfinite(lm).all()}, "stabilize")
        notes.append(f"jitter (mean second difference of the stable landmarks, interocular distances): "
                     f"{jitter(raw):.4f} before, {jitter(moved):.4f} after")
        missing = [f for f in frames if f not in self.transforms]
        if missing:
            notes.append(f"frames {format_frames(missing)}: no face in the track; passed through unchanged")
        if failed:
            notes.append(f"frames {format_frames([frames[i] for i in failed])}: no similarity fits the landmarks "
                         "(degenerate); left unchanged; fix them with `dubkernels analyze --overrides`")
        return notes

    def _fps(self) -> tuple[float, list[str]]:
        if self.params.fps > 0:
            return self.params.fps, []
        first = str(self.face.path(self.face.first))
        found = frames_per_second(first)
        if found > 0:
            return found, []
        return DEFAULT_FPS, [f"{first}: no FramesPerSecond metadata; assumed {DEFAULT_FPS:g} fps (set fps)"]

    def render(self, frame: int) -> dict[str, Frame]:
        image = read_checked(self.face, frame, self.track, "face")
        matrix = self.transforms.get(frame)
        if matrix is None:
            return {"out": image}
        data, display = image.data_window, image.display_window
        region = target_region(data, matrix, display)
        warped = warp_rgba(_rgba(image), (data.x, data.y), matrix, region)
        out = face_layer(warped, (region.x, region.y), display)
        copy_metadata(out, image.spec)  # keep the source's colourspace, fps, timecode...
        return {"out": out}
