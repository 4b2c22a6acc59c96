"""MouthComposite: put the generated mouth into the actor plate A0, change nothing else (paper 3.3).

The mask is the union of the mouth masks of A0's and the face layer's landmarks (grown and
feathered in interocular distances, IOD), kept inside both faces' jaw lines (``jaw_margin``; with
``chin`` it reaches them), times the face layer's alpha faded in from its edge (never a hard cut).
Where it is 0 every value of every channel and part keeps A0's bits; inside, RGB = A0 + m * (F - A0),
with F optionally colour-matched on a ring around the mouth and Poisson-corrected (``blend="poisson"``).

``extent="face"`` writes only A0's main part around the face (read and written as a region): the
intermediate pass-1 result, which the next pass crops the face from, without a whole-plate write.
"""
from __future__ import annotations

import logging

import cv2
import numpy as np

from dubkernels.colour import ColourSpaces, colour_spaces, to_uint8
from dubkernels.errors import DubKernelsError
from dubkernels.face.align import CropTransform
from dubkernels.face.landmarks68 import interocular
from dubkernels.face.masks import face_mask, mouth_mask
from dubkernels.io.frames import Frame, Window, new_frame
from dubkernels.io.sequences import format_frames, parse_frames
from dubkernels.jobs.kinds import KINDS
from dubkernels.jobs.params import MouthCompositeParams
from dubkernels.stages.base import Stage
from dubkernels.stages.common import plate, read_box, read_checked, require_frames, track_for

log = logging.getLogger(__name__)

MASK_MIN = 1e-3  # mask values below this are 0: the untouched area is exactly where the written mask is 0
EDGE_FADE_IOD = 0.05  # the mask fades in over this distance inside the face layer's edge (never a hard cut)
SOLID_ALPHA = 0.99  # face-layer pixels this opaque are trusted for the colour-match ring
MIN_RING_PIXELS = 16
GAIN_RANGE = (0.5, 2.0)
POISSON_MARGIN_PX = 4  # dst pixels kept around the Poisson region
CORRECTION_BLUR_PX = 2.0  # blur of the Poisson correction, against 8-bit quantisation noise
EXTENT_MARGIN = 0.15  # a face-extent output reaches this far (of the crop's size) beyond the face's crop


def intersect(a: Window, b: Window) -> Window | None:
    """The overlap of two windows, or None."""
    x0, y0, x1, y1 = max(a.x, b.x), max(a.y, b.y), min(a.x_end, b.x_end), min(a.y_end, b.y_end)
    return Window(x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None


def bounding(a: Window, b: Window, margin: int) -> Window:
    """The smallest window holding both, grown by ``margin`` pixels."""
    x0, y0 = min(a.x, b.x) - margin, min(a.y, b.y) - margin
    return Window(x0, y0, max(a.x_end, b.x_end) + margin - x0, max(a.y_end, b.y_end) + margin - y0)


def within(inner: Window, outer: Window) -> tuple[slice, slice]:
    """Row and column slices of ``inner`` in an array covering ``outer``."""
    return slice(inner.y - outer.y, inner.y_end - outer.y), slice(inner.x - outer.x, inner.x_end - outer.x)


def alpha_index(face: Frame) -> int:
    """Index of the face layer's alpha channel; a clear error when it has none."""
    names = [n.split(".")[-1].upper() for n in face.channel_names]
    if "A" not in names:
        raise DubKernelsError(f"face {face.describe()}: channels {face.channel_names} have no alpha 'A'; "
                              "write the face layer as RGBA (face on black, alpha 0 outside).")
    return names.index("A")


def faded_alpha(alpha: np.ndarray, fade_px: float) -> np.ndarray:
    """A face layer's alpha (h, w) falling to 0 over ``fade_px`` inside its edge (a smooth step on the distance
    to the nearest uncovered pixel): where a layer ends inside the mouth mask, the composite blends across
    instead of cutting (a turned head's mesh outline, a moved jaw)."""
    if fade_px < 1.0:
        return alpha
    covered = (alpha > 0.5).astype(np.uint8)
    depth = cv2.distanceTransform(np.pad(covered, 1, mode="edge"), cv2.DIST_L2, 5)[1:-1, 1:-1]
    ramp = np.clip(depth / fade_px, 0.0, 1.0)
    return (alpha * ramp * ramp * (3.0 - 2.0 * ramp)).astype(np.float32)


def unpremultiply(rgba: np.ndarray) -> np.ndarray:
    """Face RGB on black divided by its alpha (0 where alpha is 0)."""
    alpha = rgba[..., 3:]
    return np.divide(rgba[..., :3], alpha, out=np.zeros_like(rgba[..., :3]), where=alpha > 0)


def ring_gains(plate_rgb: np.ndarray, face: np.ndarray, core: np.ndarray, valid: np.ndarray,
               ring_px: float) -> np.ndarray | None:
    """Per-channel gains so the face's mean on a ring around ``core`` matches the plate's; None if no ring."""
    radius = max(1, int(round(ring_px)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    ring = (cv2.dilate(core.astype(np.uint8), kernel) > 0) & ~core & valid
    if ring.sum() < MIN_RING_PIXELS:
        return None
    face_mean, plate_mean = face[ring].mean(axis=0), plate_rgb[ring].mean(axis=0)
    gains = np.divide(plate_mean, face_mean, out=np.ones(3, np.float32), where=face_mean > 0)
    return np.clip(gains, *GAIN_RANGE)


def even_box(clone: np.ndarray) -> tuple[int, int, int, int]:
    """Bounding box (x0, y0, x1, y1) of ``clone``, extended in place to even width and height."""
    ys, xs = np.nonzero(clone)
    x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
    if (x1 - x0) % 2 and x1 < clone.shape[1]:
        clone[:, x1] = clone[:, x1 - 1]
        x1 += 1
    if (y1 - y0) % 2 and y1 < clone.shape[0]:
        clone[y1] = clone[y1 - 1]
        y1 += 1
    return x0, y0, x1, y1


def poisson_face(plate_rgb: np.ndarray, face: np.ndarray, m: np.ndarray, colour: ColourSpaces) -> np.ndarray | None:
    """The face plus a smooth Poisson correction towards the plate; None when the region meets the border.

    The correction is (seamlessClone - face) in 8-bit network space, blurred, added to the
    unquantised face in network space, so highlights and detail of the face survive.
    """
    clone = m > 0
    x0, y0, x1, y1 = even_box(clone)
    h, w = m.shape
    if min(x0, y0) < POISSON_MARGIN_PX or x1 + POISSON_MARGIN_PX > w or y1 + POISSON_MARGIN_PX > h:
        return None
    box = (slice(y0 - POISSON_MARGIN_PX, y1 + POISSON_MARGIN_PX), slice(x0 - POISSON_MARGIN_PX, x1 + POISSON_MARGIN_PX))
    face_net = colour.to_network(face[box])
    face8 = to_uint8(face_net)
    centre = (POISSON_MARGIN_PX + (x1 - x0) // 2, POISSON_MARGIN_PX + (y1 - y0) // 2)
    cloned = cv2.seamlessClone(face8, to_uint8(colour.to_network(plate_rgb[box])),
                               clone[box].astype(np.uint8) * 255, centre, cv2.NORMAL_CLONE)
    correction = (cloned.astype(np.float32) - face8.astype(np.float32)) / 255.0
    correction = np.asarray(cv2.GaussianBlur(correction, (0, 0), CORRECTION_BLUR_PX, borderType=cv2.BORDER_REPLICATE))
    out = face.copy()
    out[box] = colour.from_network(face_net + correction)
    return out


def adjusted_face(plate_rgb: np.ndarray, rgba: np.ndarray, mouth: np.ndarray, m: np.ndarray, ring_px: float,
                  p: MouthCompositeParams, where: str, ocio: str | None = None) -> np.ndarray:
    """The un-premultiplied face, colour-matched and Poisson-corrected as ``p`` asks (warnings name ``where``)."""
    fill = unpremultiply(rgba)
    if p.colour_match:
        gains = ring_gains(plate_rgb, fill, mouth >= MASK_MIN, rgba[..., 3] >= SOLID_ALPHA, ring_px)
        if gains is None:
            log.warning("%s: no solid face pixels on the ring around the mouth; colour match skipped.", where)
        else:
            fill *= gains
    if p.blend == "poisson":
        cloned = poisson_face(plate_rgb, fill, m, colour_spaces(ocio))
        if cloned is None:
            log.warning("%s: the mouth region meets the plate's data window border; blended linearly "
                        "(Poisson cloning fails at borders).", where)
        return fill if cloned is None else cloned
    return fill


def store(a0: Frame, region: Window, m: np.ndarray, blended: np.ndarray, rgb: list[int]) -> None:
    """Write ``blended`` into A0's RGB where m > 0; every other value keeps its bits."""
    sub = a0.pixels[within(region, a0.data_window)]
    values = sub[..., rgb]
    values[m > 0] = blended[m > 0].astype(values.dtype)
    sub[..., rgb] = values


def mask_frame(m: np.ndarray, region: Window, display: Window) -> Frame:
    """The debug mask: one half channel 'mask' over the bbox of m > 0 (one black pixel if empty)."""
    ys, xs = np.nonzero(m)
    y0, y1, x0, x1 = (ys.min(), ys.max() + 1, xs.min(), xs.max() + 1) if len(ys) else (0, 1, 0, 1)
    return new_frame(m[y0:y1, x0:x1, None], channel_names=("mask",), display_window=display,
                     data_window=Window(region.x + int(x0), region.y + int(y0), int(x1 - x0), int(y1 - y0)))


class MouthComposite(Stage):
    """Composite the generated face's mouth into the actor plate A0."""

    kind = KINDS["mouth_composite"]

    def frames(self) -> list[int]:
        return track_for(self.job.inputs["actor_track"], "actor_track").frames

    def prepare(self) -> list[str]:
        self.actor_track = track_for(self.job.inputs["actor_track"], "actor_track")
        self.face_track = track_for(self.job.inputs["face_track"], "face_track")
        chunk = parse_frames(self.job.frames) if self.job.frames else self.actor_track.frames
        covered = set(self.face_track.frames)
        uncovered = [f for f in chunk if f not in covered]
        if self.params.uncovered == "error":
            require_frames(self.face_track, chunk, "face_track")
        self.passthrough = sorted(f for f in chunk if f in uncovered or not (
            self.actor_track.record(f).has_face and self.face_track.record(f).has_face))
        composited = [f for f in chunk if f not in self.passthrough]
        self.actor = plate(self.job.inputs["actor"], chunk, "actor")
        self.face = plate(self.job.inputs["face"], composited, "face") if composited else None
        notes = self.plate_notes(self.actor_track, self.actor, chunk, "actor_track")
        if self.face is not None:
            notes += self.plate_notes(self.face_track, self.face, composited, "face_track")
        if uncovered:
            notes.append(f"frames {format_frames(uncovered)}: outside the face layer's frames (the dubbed line is "
                         "shorter than the shot); the plate is copied unchanged")
        faceless = [f for f in self.passthrough if f not in uncovered]
        if faceless:
            notes.append(f"frames {format_frames(faceless)}: no face in actor_track or face_track (flagged missing); "
                         "the plate is copied unchanged.")
        return notes

    def render(self, frame: int) -> dict[str, Frame]:
        face = None
        if frame not in self.passthrough:
            assert self.face is not None
            face = read_checked(self.face, frame, self.face_track, "face")
        if self.params.extent == "face":
            a0 = read_box(self.actor, frame, self.actor_track, "actor", self._face_box(frame, face))[0]
        else:
            a0 = read_checked(self.actor, frame, self.actor_track, "actor")
        display = a0.display_window
        region, m = display, np.zeros((1, 1), np.float32)
        if face is not None:
            size = face.display_window
            if size != display:
                raise DubKernelsError(
                    f"{self.name}: face {face.describe()} is {size.width}x{size.height} but actor "
                    f"{a0.describe()} is {display.width}x{display.height} (frame {frame}); "
                    "render the face layer at the plate's format.")
            region, m = self.composite(a0, face, frame)
        result = {"out": Frame(a0.parts)}
        if "mask" in self.job.outputs:
            result["mask"] = mask_frame(m, region, display)
        return result

    def _face_box(self, frame: int, face: Frame | None) -> tuple[int, int, int, int]:
        """What a face-extent output covers (display coordinates): the face's aligned crop with a margin,
        and the face layer's data window, so a later pass can crop the face from it as from the plate."""
        if face is None:
            return 0, 0, 1, 1
        landmarks = self.face_track.record(frame).landmarks
        assert landmarks is not None
        x0, y0, x1, y1 = CropTransform.from_landmarks(landmarks).source_box()
        margin = int(EXTENT_MARGIN * max(x1 - x0, y1 - y0))
        dw, disp = face.data_window, face.display_window
        return (min(x0 - margin, dw.x - disp.x), min(y0 - margin, dw.y - disp.y),
                max(x1 + margin, dw.x_end - disp.x), max(y1 + margin, dw.y_end - disp.y))

    def composite(self, a0: Frame, face: Frame, frame: int) -> tuple[Window, np.ndarray]:
        """Blend the face into A0's main part in place; return the mask and its region (absolute pixel coordinates)."""
        p = self.params
        actor_lm, face_lm = self.actor_track.record(frame).landmarks, self.face_track.record(frame).landmarks
        assert actor_lm is not None and face_lm is not None
        masks = [mouth_mask(lm, p.grow, p.feather, p.chin) for lm in (actor_lm, face_lm)]
        ring_px = p.ring * interocular(actor_lm)
        margin = POISSON_MARGIN_PX + (int(np.ceil(ring_px)) + 1 if p.colour_match else 0)
        disp = a0.display_window  # landmarks and masks are in display coordinates, windows in absolute ones
        box = bounding(masks[0].window, masks[1].window, margin)
        region = intersect(Window(box.x + disp.x, box.y + disp.y, box.width, box.height), a0.data_window)
        if region is None:
            return disp, np.zeros((1, 1), np.float32)
        rgb = a0.rgb_indices()
        rgba = face.window_pixels(region, face.rgb_indices() + [alpha_index(face)])
        plate_rgb = a0.window_pixels(region, rgb)
        on_display = Window(region.x - disp.x, region.y - disp.y, region.width, region.height)
        mouth = np.maximum(masks[0].over(on_display), masks[1].over(on_display))
        if not p.chin and p.jaw_margin > 0:  # clear of the face's outline, where a moved jaw edge would show
            inside = [face_mask(lm, -p.jaw_margin, p.jaw_margin / 2).over(on_display) for lm in (actor_lm, face_lm)]
            mouth = mouth * np.minimum(*inside)
        m = np.clip(mouth * faded_alpha(rgba[..., 3], EDGE_FADE_IOD * interocular(actor_lm)), 0.0, 1.0)
        m[m < MASK_MIN] = 0.0
        if not m.any():
            return region, m
        fill = adjusted_face(plate_rgb, rgba, mouth, m, ring_px, p, f"{self.name}: frame {frame}", self.job.ocio)
        store(a0, region, m, plate_rgb + m[..., None] * (fill - plate_rgb), rgb)
        return region, m
