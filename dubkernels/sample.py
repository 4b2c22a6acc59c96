"""A synthetic actor/dubber pair of EXR sequences made from scikit-image's astronaut photo.

The photo ships with scikit-image (no download). Its 68 landmarks are found
once; every frame then opens the mouth by a smooth vertical warp of the lower
lip, chin and jaw (nothing above the inner upper lip moves), darkens the
opening, and moves the head by a small similarity. The dubber has its own mouth
curve, pose, light and colour. Frames are half-float EXRs in the OCIO working
space; a truth file holds the mouth-open curve and the exact 68 landmarks of
every frame.

Example:
    >>> shot = make_sample("demo")
    >>> shot.actor, shot.dubber, shot.truth
    ('demo/actor/actor.####.exr', 'demo/dubber/dubber.####.exr', PosixPath('demo/sample_truth.json'))
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import OpenImageIO as oiio
from skimage import data as skdata

from dubkernels.colour import ColourSpaces
from dubkernels.errors import DubKernelsError, FaceError
from dubkernels.face.detect import FaceDetector, to_gray
from dubkernels.face.landmarks68 import interocular
from dubkernels.io.frames import new_frame, write_frame
from dubkernels.io.sequences import output_sequence
from dubkernels.io.files import atomic_write_text

TRUTH_FORMAT = "dubkernels-sample-truth"
TRUTH_VERSION = 1
TRUTH_NAME = "sample_truth.json"
FPS = 25
SOURCE_SIZE = 512  # the astronaut photo is 512x512
MIN_SIZE = SOURCE_SIZE  # below this the dubber's face falls under dlib HOG's 80-pixel window

# Mouth warp, in interocular distances (IOD) of the source face.
OPEN_IOD = 0.35  # how far the lower lip and chin drop at amount 1
MIN_GAP_IOD = 0.05  # shortest lip-to-lip stretch band
CORNER_SPREAD_IOD = 0.4  # the stretch band widens towards the corners by this, so the opening is lens-shaped
CHEEK_SLOPE = 1.0  # and beside the corners by this per pixel, so the cheeks stretch gently
ACROSS_SIGMA_IOD = 0.6  # Gaussian falloff of the drop away from the mouth centre
NECK_FADE_IOD = 0.8  # the drop fades to zero this far below the jaw line
ACTIVE_WEIGHT = 1e-4  # columns whose weight stays below this do not move

# The dark opening between the lips.
OPENING_SRGB = (0.22, 0.07, 0.06)  # dark red-brown
OPENING_FULL_AT = 0.35  # mouth-open amount at which the opening is fully dark
OPENING_BLUR_PX = 0.8  # soft edge of the opening
OPENING_DEPTH_IOD = 0.1  # blur of the mask that tells the deep centre from the rim
OPENING_RIM = 1.5  # the rim of the opening is this much brighter than its deep centre
POLY_SHIFT = 4  # sub-pixel bits of polygon vertices
OPENING_SAMPLES = 24  # points along each lip of the opening polygon

# Head motion amplitudes (rotation degrees, relative scale, pixels at 512) and frequencies (Hz).
SWAY_DEG, SWAY_SCALE, SWAY_PX = 2.0, 0.02, 6.0
SWAY_HZ = (0.45, 0.6, 0.35, 0.5)  # angle, scale, x, y

UPPER_INNER = (60, 61, 62, 63, 64)
LOWER_INNER = (60, 67, 66, 65, 64)
JAW_LOWER = tuple(range(4, 13))  # the jaw from below one cheek to below the other
RELIGHT_WIDTH_IOD = 2.0  # the light gradient spans about the face width


@dataclass(frozen=True)
class Take:
    """One performance: mouth-open curve, head pose and motion, light and colour."""

    name: str
    mouth_bias: float
    mouth_waves: tuple[tuple[float, float, float], ...]  # (amplitude, Hz, phase radians)
    angle_deg: float = 0.0
    scale: float = 1.0
    offset: tuple[float, float] = (0.0, 0.0)  # pixels at 512
    motion: float = 1.0  # head-motion amplitude relative to SWAY_*
    pose_phase: float = 0.0
    light: tuple[float, float] = (1.0, 1.0)  # gain from the dark to the bright side of the face
    light_angle_deg: float = 0.0  # direction of the gradient (0: brighter to screen right)
    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)  # per-channel scene-linear gains


ACTOR = Take("actor", 0.42, ((0.45, 3.3, 0.0), (0.22, 1.2, 1.1)), pose_phase=0.3)
DUBBER = Take(
    "dubber", 0.40, ((0.42, 2.7, 2.0), (0.25, 0.9, 0.4)),
    angle_deg=5.0, scale=0.9, offset=(14.0, -20.0), motion=0.5, pose_phase=2.0,
    light=(0.75, 1.15), light_angle_deg=-20.0, gains=(1.08, 0.97, 0.90),
)


@dataclass(frozen=True)
class Pose:
    """A similarity about the face centre: rotation (degrees, clockwise on screen), scale, shift."""

    angle_deg: float = 0.0
    scale: float = 1.0
    tx: float = 0.0
    ty: float = 0.0

    def matrix(self, centre: np.ndarray) -> np.ndarray:
        """Forward 2x3 affine matrix (source -> frame pixels)."""
        m = np.asarray(cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), -self.angle_deg, self.scale))
        m[:, 2] += np.array((self.tx, self.ty))
        return m


@dataclass(frozen=True)
class SampleShot:
    """Where a sample shot was written."""

    outdir: Path
    actor: str  # pattern, e.g. OUTDIR/actor/actor.####.exr
    dubber: str
    truth: Path
    frames: list[int]


@dataclass(frozen=True)
class SourceFace:
    """The still the shot is made from: scene-linear RGB and its 68 landmarks."""

    rgb: np.ndarray  # (size, size, 3) float32 in the working space
    landmarks: np.ndarray  # (68, 2) float64

    @property
    def iod(self) -> float:
        return interocular(self.landmarks)

    @property
    def centre(self) -> np.ndarray:
        return self.landmarks.mean(axis=0)


@lru_cache(maxsize=1)
def astronaut_landmarks() -> np.ndarray:
    """The 68 landmarks dlib finds on the 512x512 astronaut, (68, 2) float64, read-only; found once."""
    gray = to_gray(skdata.astronaut())
    detector = FaceDetector()
    found = detector.detect(gray)
    if not found:
        raise FaceError("no face found in skimage.data.astronaut(); check the dlib installation.")
    landmarks = detector.landmarks(gray, found[0].box)
    landmarks.setflags(write=False)
    return landmarks


def load_face(size: int = SOURCE_SIZE, colour: ColourSpaces | None = None) -> SourceFace:
    """The astronaut upscaled to ``size`` x ``size`` in the working space, with its landmarks."""
    colour = colour or ColourSpaces()
    srgb = skdata.astronaut()
    landmarks = astronaut_landmarks()
    if size > SOURCE_SIZE:
        srgb = cv2.resize(srgb, (size, size), interpolation=cv2.INTER_CUBIC)
        landmarks = (landmarks + 0.5) * (size / SOURCE_SIZE) - 0.5
    rgb = colour.from_network(srgb.astype(np.float32) / 255.0)
    return SourceFace(rgb, landmarks)


def smoothstep(t: np.ndarray | float) -> np.ndarray:
    """0 below 0, 1 above 1, a smooth cubic in between."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _curve(landmarks: np.ndarray, indices: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """x and y of landmark points sorted by x, for np.interp."""
    points = landmarks[list(indices)]
    order = np.argsort(points[:, 0])
    return points[order, 0], points[order, 1]


class MouthWarp:
    """The mouth-opening warp of a source face: a vertical drop of lower lip, chin and jaw.

    The drop is ``amount * OPEN_IOD * iod * weight(x, y)`` (pixels, downwards) at source
    point (x, y). The weight is 0 above the inner upper lip, rises to 1 at the inner lower
    lip, falls off as a Gaussian away from the mouth centre and fades out below the jaw line.
    """

    def __init__(self, face: SourceFace):
        iod = face.iod
        self.drop = OPEN_IOD * iod
        self._upper = _curve(face.landmarks, UPPER_INNER)
        self._lower = _curve(face.landmarks, LOWER_INNER)
        self._jaw = _curve(face.landmarks, JAW_LOWER)
        self._corners = (float(self._upper[0][0]), float(self._upper[0][-1]))
        self._centre_x = 0.5 * sum(self._corners)
        self._half_width = 0.5 * (self._corners[1] - self._corners[0])
        self._min_gap, self._spread = MIN_GAP_IOD * iod, CORNER_SPREAD_IOD * iod
        self._sigma, self._fade = ACROSS_SIGMA_IOD * iod, NECK_FADE_IOD * iod
        h, w = face.rgb.shape[:2]
        self._weights = self.weight(np.arange(w, dtype=np.float64)[None, :], np.arange(h, dtype=np.float64)[:, None])
        self._columns = np.nonzero(self._weights.max(axis=0) > ACTIVE_WEIGHT)[0]

    def weight(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Drop weight in 0..1 at source points (broadcasting arrays x, y)."""
        top = np.interp(x, *self._upper)
        bottom = np.interp(x, *self._lower)
        off_centre = np.minimum(np.abs(x - self._centre_x) / self._half_width, 1.0)
        beside = np.maximum(np.abs(x - self._centre_x) - self._half_width, 0.0)
        gap = np.maximum(bottom - top, self._min_gap) + self._spread * off_centre**2 + CHEEK_SLOPE * beside
        rise = smoothstep((y - top) / gap)
        fade = 1.0 - smoothstep((y - np.interp(x, *self._jaw)) / self._fade)
        across = np.exp(-0.5 * ((x - self._centre_x) / self._sigma) ** 2)
        return rise * fade * across

    def landmarks(self, landmarks: np.ndarray, amount: float) -> np.ndarray:
        """Source points (n, 2) moved by the warp (points above the mouth do not move)."""
        out = np.array(landmarks, dtype=np.float64)
        out[:, 1] += amount * self.drop * self.weight(out[:, 0], out[:, 1])
        return out

    def opening(self, amount: float) -> np.ndarray:
        """Polygon (source points) of the mouth opening: the inner upper lip, then the moved inner lower lip."""
        x = np.linspace(*self._corners, OPENING_SAMPLES)
        upper = np.stack([x, np.interp(x, *self._upper)], axis=1)
        lower = self.landmarks(np.stack([x, np.interp(x, *self._lower)], axis=1), amount)
        return np.concatenate([upper, lower[::-1]])

    def backward(self, amount: float) -> np.ndarray:
        """Backward vertical displacement (h, w) float32: warped pixel (x, y) comes from (x, y + d)."""
        h, w = self._weights.shape
        rows = np.arange(h, dtype=np.float64)
        out = np.zeros((h, w), np.float32)
        for x in self._columns:  # the forward drop is monotonic per column: invert it exactly
            forward = rows + amount * self.drop * self._weights[:, x]
            out[:, x] = np.interp(rows, forward, rows) - rows
        return out


def _transform(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


class SampleRenderer:
    """Renders frames of a source face: mouth opened by an amount, head moved by a pose."""

    def __init__(self, face: SourceFace, colour: ColourSpaces):
        self.face = face
        self.warp = MouthWarp(face)
        h, w = face.rgb.shape[:2]
        self._x, self._y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        self._opening = colour.from_network(np.array(OPENING_SRGB, np.float32))

    def render(self, amount: float, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
        """Scene-linear RGB (h, w, 3) float32 and its true 68 landmarks."""
        matrix = pose.matrix(self.face.centre)
        inverse = cv2.invertAffineTransform(matrix).astype(np.float32)
        qx = inverse[0, 0] * self._x + inverse[0, 1] * self._y + inverse[0, 2]
        qy = inverse[1, 0] * self._x + inverse[1, 1] * self._y + inverse[1, 2]
        drop = cv2.remap(self.warp.backward(amount), qx, qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        rgb = cv2.remap(self.face.rgb, qx, qy + drop, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
        np.maximum(rgb, 0.0, out=rgb)
        moved = self.warp.landmarks(self.face.landmarks, amount)
        depth = OPENING_DEPTH_IOD * self.face.iod * pose.scale
        self._darken_opening(rgb, _transform(matrix, self.warp.opening(amount)), amount, depth)
        return rgb, _transform(matrix, moved)

    def _darken_opening(self, rgb: np.ndarray, polygon: np.ndarray, amount: float, depth: float) -> None:
        """Blend the dark mouth cavity into the polygon, anti-aliased, darkest at its centre."""
        opacity = float(smoothstep(amount / OPENING_FULL_AT))
        if opacity <= 0.0:
            return
        mask = np.zeros(rgb.shape[:2], np.uint8)
        vertices = np.round(polygon * (1 << POLY_SHIFT)).astype(np.int32)
        cv2.fillPoly(mask, [vertices], 255, cv2.LINE_AA, POLY_SHIFT)
        inside = mask.astype(np.float32) / 255.0
        alpha = cv2.GaussianBlur(inside * opacity, (0, 0), OPENING_BLUR_PX)[..., None]
        deep = cv2.GaussianBlur(inside, (0, 0), depth)[..., None]
        rgb *= 1.0 - alpha
        rgb += alpha * (1.0 + OPENING_RIM * (1.0 - deep)) * self._opening


def mouth_curve(take: Take, count: int) -> np.ndarray:
    """Mouth-open amounts in 0..1 of ``count`` frames: a clipped sum of sinusoids."""
    t = np.arange(count) / FPS
    waves = sum(a * np.sin(2.0 * math.pi * hz * t + phase) for a, hz, phase in take.mouth_waves)
    return np.round(np.clip(take.mouth_bias + waves, 0.0, 1.0), 4)


def take_pose(take: Take, index: int, size: int) -> Pose:
    """Head pose of frame ``index`` of a take: its base pose plus gentle sinusoidal sway."""
    t, px = index / FPS, size / SOURCE_SIZE

    def sway(k: int) -> float:
        return take.motion * math.sin(2.0 * math.pi * SWAY_HZ[k] * t + take.pose_phase + k)

    return Pose(
        angle_deg=take.angle_deg + SWAY_DEG * sway(0),
        scale=take.scale * (1.0 + SWAY_SCALE * sway(1)),
        tx=(take.offset[0] + SWAY_PX * sway(2)) * px,
        ty=(take.offset[1] + SWAY_PX * sway(3)) * px,
    )


def light_gains(take: Take, face: SourceFace, size: int) -> np.ndarray:
    """Per-pixel, per-channel gains (size, size, 3) of a take: a smooth light gradient times colour gains."""
    centre = _transform(take_pose(take, 0, size).matrix(face.centre), face.centre[None])[0]
    angle = math.radians(take.light_angle_deg)
    coords = np.arange(size, dtype=np.float32)
    along = (coords[None, :] - centre[0]) * math.cos(angle) + (coords[:, None] - centre[1]) * math.sin(angle)
    side = 0.5 * (1.0 + np.tanh(2.0 * along / (RELIGHT_WIDTH_IOD * face.iod * take.scale)))
    dark, bright = take.light
    return (dark + (bright - dark) * side)[..., None] * np.array(take.gains, np.float32)


def _write_exr(path: Path, rgb: np.ndarray, colour: ColourSpaces, take: Take, amount: float) -> None:
    frame = new_frame(rgb, attributes={"oiio:ColorSpace": colour.working})
    frame.spec.attribute("FramesPerSecond", oiio.TypeRational, (FPS, 1))
    provenance = {"stage": "sample", "source": "skimage.data.astronaut", "take": take.name, "mouth_open": amount}
    write_frame(path, frame, provenance=provenance)


def _remove_stale(folder: Path, name: str, keep: list[int]) -> None:
    """Delete frames of an earlier sample in ``folder`` that this one does not write."""
    frame_file = re.compile(rf"{re.escape(name)}\.(\d{{4,}})\.exr")
    for path in folder.glob(f"{name}.*.exr"):
        match = frame_file.fullmatch(path.name)
        if match and int(match.group(1)) not in keep:
            path.unlink()


def _write_take(renderer: SampleRenderer, take: Take, outdir: Path, numbers: list[int],
                colour: ColourSpaces, progress: Callable[[int], object] | None) -> dict:
    """Write one take's frames; return its truth (frames, mouth-open curve, landmarks)."""
    folder = outdir / take.name
    pattern = folder / f"{take.name}.####.exr"
    sequence = output_sequence(pattern, numbers)
    size = renderer.face.rgb.shape[0]
    gains = light_gains(take, renderer.face, size)
    curve = mouth_curve(take, len(numbers))
    _remove_stale(folder, take.name, numbers)
    landmarks: dict[str, list[list[float]]] = {}
    for index, (number, amount) in enumerate(zip(numbers, curve.tolist())):
        rgb, points = renderer.render(amount, take_pose(take, index, size))
        rgb *= gains
        _write_exr(sequence.path(number), rgb, colour, take, amount)
        landmarks[str(number)] = np.round(points, 3).tolist()
        if progress:
            progress(1)
    return {"pattern": str(pattern), "frames": numbers, "mouth_open": curve.tolist(), "landmarks": landmarks}


def make_sample(
    outdir: str | Path,
    frames: int = 24,
    start: int = 1001,
    size: int = SOURCE_SIZE,
    progress: Callable[[int], object] | None = None,
    colour: ColourSpaces | None = None,
) -> SampleShot:
    """Write the actor and dubber sequences and the truth file under ``outdir``.

    ``progress`` is called with 1 after each written frame (``2 * frames`` calls).
    Frames of an earlier sample in the same folders that are not rewritten are deleted,
    so each pattern holds exactly this shot.
    """
    if frames < 1:
        raise DubKernelsError(f"a sample needs at least one frame, not {frames}.")
    if size < MIN_SIZE:
        raise DubKernelsError(f"sample size {size} is too small for face detection; use {MIN_SIZE} or more.")
    if start < 0:
        raise DubKernelsError(f"first frame {start} is negative; start at 0 or later (default 1001).")
    colour = colour or ColourSpaces()
    outdir = Path(outdir)
    renderer = SampleRenderer(load_face(size, colour), colour)
    numbers = list(range(start, start + frames))
    actor = _write_take(renderer, ACTOR, outdir, numbers, colour, progress)
    dubber = _write_take(renderer, DUBBER, outdir, numbers, colour, progress)
    truth = {
        "format": TRUTH_FORMAT, "version": TRUTH_VERSION, "fps": FPS,
        "width": size, "height": size, "colourspace": colour.working, "actor": actor, "dubber": dubber,
    }
    truth_path = outdir / TRUTH_NAME
    atomic_write_text(truth_path, json.dumps(truth, indent=1))
    return SampleShot(outdir, actor["pattern"], dubber["pattern"], truth_path, numbers)
