"""PoseAlign (paper 3.1): the dubber's face rendered in the actor's pose, on black.

Sequence-level (``prepare``): per frame, a dense face mesh of the dubber lifted
to 3D with the fitted mean face, re-posed into the actor's head pose and snapped
onto the actor's stable landmarks; a 5-frame moving average of its vertex
positions; Reinhard colour statistics of both faces (masked, median over the
shot, so the colour does not flicker).

Per frame (``render``): z-buffered rasterisation of the mesh with the texture
sampled from the dubber frame, colour transfer through OCIO network space, and
an RGBA face layer in the actor's plate coordinates (alpha = face coverage).

The actor's own face render, needed for training, is the same stage with the
actor given as the dubber.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from dubkernels.colour import ColourSpaces, colour_spaces
from dubkernels.errors import DubKernelsError
from dubkernels.face.landmarks68 import interocular
from dubkernels.face.masks import face_mask, mouth_mask
from dubkernels.face.mesh import base_points, lift, project, repose, snap, topology
from dubkernels.face.pose import HeadPose
from dubkernels.io.frames import Frame, copy_metadata, read_frame, read_spec
from dubkernels.io.sequences import format_frames, output_sequence, parse_frames
from dubkernels.jobs.kinds import KINDS
from dubkernels.render.face_mesh import render_face
from dubkernels.render.reinhard import LabStats, masked_stats, robust, transfer
from dubkernels.stages.base import Stage, fail
from dubkernels.stages.common import face_layer, plate, read_box, track_for
from dubkernels.tracks import FrameRecord, Track, save_landmarks

STATS_FACE_SHRINK = -0.15  # colour statistics skip the face border (hair, background)...
STATS_MOUTH_GROW = 0.15  # ...and the mouth, whose interior differs between takes
SOURCE_PAD_PX = 3  # dubber pixels read beyond the texture's reach (the cubic filter's taps)


def _pose(rec: FrameRecord) -> HeadPose:
    assert rec.pose is not None
    p = rec.pose
    return HeadPose(tuple(p["rvec"]), tuple(p["tvec"]), p["yaw"], p["pitch"], p["roll"])  # type: ignore[arg-type]


@dataclass
class _FrameMesh:
    dest: np.ndarray  # (n, 2) actor-plate positions of the dense vertices
    depth: np.ndarray  # (n,) camera depth in the actor's camera
    uv: np.ndarray  # (n, 2) dubber-plate positions (texture coordinates)
    scale: float  # actor face size / dubber face size


def plate_fps(pattern: str, frame: int) -> Fraction | None:
    """FramesPerSecond of a plate's frame, None when the header does not say."""
    value = read_spec(output_sequence(pattern, [frame]).path(frame), frame).getattribute("FramesPerSecond")
    if isinstance(value, tuple) and len(value) == 2 and value[1]:
        return Fraction(int(value[0]), int(value[1]))
    return None


class PoseAlign(Stage):
    """Render the dubber's face in the actor's pose."""

    kind = KINDS["pose_align"]

    def _tracks(self) -> tuple[Track, Track]:
        actor = track_for(self.job.inputs["actor_track"], "actor_track")
        dubber = track_for(self.job.inputs["dubber_track"], "dubber_track")
        self.actor_first, self.dubber_first = actor.frames[0], dubber.frames[0]
        self.rate = self._rate(actor.frames[0], dubber.frames[0])
        return actor, dubber

    def _rate(self, actor_frame: int, dubber_frame: int) -> Fraction:
        """Dubber frames per actor frame: 1, or the ratio of the takes' frame rates when they differ."""
        try:
            actor = plate_fps(self.job.inputs["actor"], actor_frame)
            dubber = plate_fps(self.job.inputs["dubber"], dubber_frame)
        except DubKernelsError:
            return Fraction(1)  # a missing plate frame is reported by name when it is read
        if actor is None or dubber is None or actor == dubber:
            return Fraction(1)
        if not self.params.retime:
            raise fail(self.name, f"the actor plate is {float(actor):g} fps and the dubber {float(dubber):g} fps; "
                                  "frame-for-frame matching would drift out of sync. Turn retime on to map dubber "
                                  "frames by time, or conform the dubber to the actor's rate.")
        return dubber / actor

    def frames(self) -> list[int]:
        """The actor frames that have a dubber frame (the dubbed line may be shorter than the shot)."""
        actor, dubber = self._tracks()
        have = set(dubber.frames)
        frames = [f for f in actor.frames if self._dubber_frame(f) in have]
        if not frames:
            raise fail(self.name, f"no actor frame ({actor.frame_range_text()}) maps onto a dubber frame "
                                  f"({dubber.frame_range_text()}) with dubber_offset={self.params.dubber_offset}.")
        return frames

    def _dubber_frame(self, frame: int) -> int:
        """The dubber frame shown at actor frame ``frame``: by time when the frame rates differ."""
        return self.dubber_first + self.params.dubber_offset + math.floor((frame - self.actor_first) * self.rate + Fraction(1, 2))

    def frame_inputs(self, frame: int) -> list[Path]:
        dubber = self._dubber_frame(frame)
        return [output_sequence(self.job.inputs["actor"], [frame]).path(frame),
                output_sequence(self.job.inputs["dubber"], [dubber]).path(dubber)]

    def prepare(self) -> list[str]:
        actor, dubber = self._tracks()
        self.dubber_track = dubber
        shot = self.frames()
        self.actor = plate(self.job.inputs["actor"], shot, "actor")
        self.display = read_frame(self.actor.path(shot[0]), shot[0]).display_window
        self.actor_size, self.dubber_size = (actor.width, actor.height), (dubber.width, dubber.height)
        meshes = {f: self._mesh(actor.record(f), dubber.record(self._dubber_frame(f))) for f in shot}
        self.meshes = _smooth(meshes, self.params.smooth)
        chunk = parse_frames(self.job.frames) if self.job.frames else shot
        dubber_plate = plate(self.job.inputs["dubber"], [self._dubber_frame(f) for f in chunk], "dubber")
        notes = self.plate_notes(actor, self.actor, chunk, "actor_track") + self.plate_notes(
            dubber, dubber_plate, list(dubber_plate.frames), "dubber_track")
        if len(shot) < len(actor.frames):
            notes.append(f"actor frames {format_frames(sorted(set(actor.frames) - set(shot)))} have no dubber frame; "
                         "not rendered")
        if self.rate != 1:
            notes.append(f"frame rates differ: {float(self.rate):.4g} dubber frames per actor frame, matched by time")
        if "landmarks" in self.job.outputs:
            save_landmarks(self.job.outputs["landmarks"], {f: m.dest[:68] for f, m in self.meshes.items() if m},
                           "pose_align")
        empty = [f for f, m in self.meshes.items() if m is None]
        for role, lost in (("actor", [f for f in empty if actor.record(f).landmarks is None]),
                           ("dubber", [f for f in empty if dubber.record(self._dubber_frame(f)).landmarks is None])):
            if lost:
                notes.append(f"frames {format_frames(lost)}: no face in the {role} take there; rendered empty")
        self.stats: tuple[LabStats, LabStats] | None = None
        if self.params.colour_transfer:
            self.stats = (self._stats(dubber, "dubber", [self._dubber_frame(f) for f in shot]),
                          self._stats(actor, "actor", shot))
            notes.append(f"colour transfer Lab mean {_fmt(self.stats[0].mean)} -> {_fmt(self.stats[1].mean)}")
        return notes

    def _mesh(self, actor: FrameRecord, dubber: FrameRecord) -> _FrameMesh | None:
        if actor.landmarks is None or dubber.landmarks is None:
            return None
        topo = topology()
        d_base = base_points(dubber.landmarks)
        lifted = lift(d_base, _pose(dubber), *self.dubber_size)
        posed = repose(lifted, _pose(dubber), _pose(actor))
        dest = snap(project(posed, *self.actor_size), actor.landmarks)
        return _FrameMesh(topo.dense(dest), topo.dense(posed[:, 2:]).ravel(), topo.dense(d_base),
                          interocular(actor.landmarks) / interocular(dubber.landmarks))

    def _stats(self, track: Track, what: str, frames: list[int]) -> LabStats:
        step = max(1, len(frames) // self.params.stat_frames)
        sequence = plate(self.job.inputs[what], frames[::step], what)
        space = self.params.dubber_colourspace or None if what == "dubber" else None
        samples = []
        for f in sequence.frames:
            lm = track.record(f).landmarks
            if lm is None:
                continue
            mask = face_mask(lm, STATS_FACE_SHRINK, 0.0)
            w = mask.window
            crop = read_box(sequence, f, track, what, (w.x, w.y, w.x_end, w.y_end))[1]
            keep = (mask.values > 0.5) & ~(mouth_mask(lm, STATS_MOUTH_GROW, 0.0).over(w) > 0)
            stats = masked_stats(self._colour().to_network(crop, space), keep)
            if stats:
                samples.append(stats)
        if not samples:
            raise fail(self.name, f"no usable face in the {what} frames sampled for colour statistics; "
                                  "turn colour_transfer off or fix the track.")
        return robust(samples)

    def _colour(self) -> ColourSpaces:
        return colour_spaces(self.job.ocio)

    def render(self, frame: int) -> dict[str, Frame]:
        mesh = self.meshes[frame]
        empty = np.zeros((1, 1, 4), np.float32)
        if mesh is None:
            return {"out": face_layer(empty, (self.display.x, self.display.y), self.display)}
        source, origin = self._source(self._dubber_frame(frame), mesh)
        rgb, alpha, window = render_face(mesh.dest, mesh.depth, mesh.uv, source, origin, self.actor_size)
        rgb = self._recolour(rgb)
        rgba = np.dstack([np.maximum(rgb, 0.0) * alpha[..., None], alpha]).astype(np.float32)
        layer = face_layer(rgba, (self.display.x + window.x, self.display.y + window.y), self.display)
        copy_metadata(layer, read_spec(self.actor.path(frame), frame))  # the actor's timecode, fps...
        return {"out": layer}

    def _source(self, dubber_frame: int, mesh: _FrameMesh) -> tuple[np.ndarray, tuple[int, int]]:
        """The dubber's face region in scene-linear, pre-filtered when the render shrinks it, and its
        origin (x, y) in the dubber plate: only the region the texture samples is read."""
        sigma = 0.5 * (1.0 / mesh.scale - 1.0) + 1e-3 if mesh.scale < 1.0 else 0.0
        pad = SOURCE_PAD_PX + int(np.ceil(4.0 * sigma))  # the cubic taps and the blur kernel stay inside
        x0, y0 = np.floor(mesh.uv.min(axis=0)).astype(int) - pad
        x1, y1 = np.ceil(mesh.uv.max(axis=0)).astype(int) + pad
        x0, y0 = max(int(x0), 0), max(int(y0), 0)
        x1, y1 = min(int(x1), self.dubber_size[0]), min(int(y1), self.dubber_size[1])
        sequence = plate(self.job.inputs["dubber"], [dubber_frame], "dubber")
        rgb = read_box(sequence, dubber_frame, self.dubber_track, "dubber", (x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)))[1]
        space = self.params.dubber_colourspace
        if space:
            rgb = self._colour().convert(rgb, space, self._colour().working)
        if sigma:
            rgb = cv2.GaussianBlur(rgb, (0, 0), sigma)
        return rgb, (x0, y0)

    def _recolour(self, rgb: np.ndarray) -> np.ndarray:
        if self.stats is None:
            return rgb
        colour = self._colour()
        return colour.from_network(transfer(colour.to_network(rgb), *self.stats))


def _smooth(meshes: dict[int, _FrameMesh | None], window: int) -> dict[int, _FrameMesh | None]:
    """Centred moving average of destination vertices and depths over runs of frames with a face."""
    frames = sorted(meshes)
    half = window // 2
    out: dict[int, _FrameMesh | None] = {}
    for i, f in enumerate(frames):
        mesh = meshes[f]
        if mesh is None:
            out[f] = None
            continue
        span = range(max(0, i - half), min(len(frames), i + half + 1))
        near = [m for m in (meshes[frames[j]] for j in span) if m is not None]
        dest = np.mean([m.dest for m in near], axis=0)
        depth = np.mean([m.depth for m in near], axis=0)
        out[f] = _FrameMesh(dest, depth, mesh.uv, mesh.scale)
    return out


def _fmt(values: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:.1f}" for v in values) + ")"
