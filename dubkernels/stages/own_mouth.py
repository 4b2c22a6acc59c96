"""OwnMouth: the actor's own mouth, re-timed to the dubber's (a training-free baseline and quick look).

Sequence-level (``prepare``): the mouth shape of every actor frame and of every target frame (the
landmarks PoseAlign drew: the dubber's mouth in the actor's pose), and one actor frame per target,
chosen over the whole shot by dynamic programming (:mod:`dubkernels.face.mouth_match`): mouths that
move alike (deviations from each person's closed mouth), lips closed where the dubber's are, runs of
consecutive actor frames, cuts where the mouths agree. The chosen mouth is warped part-way toward the
dubber's (``follow``) and its lips closed or parted where the dubber's are (``closures``). Targets no
actor frame comes near are named in a note: the take lacks that shape (often a wide-open mouth).

Per frame (``render``): the chosen actor frame's mouth and lower jaw are put into this frame's head
pose (the actor's own lips, not the dubber's build), and the chosen frame's face is warped there
with the dense face mesh, as an RGBA face layer like PoseAlign's (alpha = the mesh's coverage), then
blurred where this frame's plate is softer than the chosen one's (``match_blur``: a fast head turn's motion
blur), and drawn again where its nose meets the plate's (``register``: landmarks can sit a few pixels off).
It is as sharp as the plate and the actor's identity by construction; MouthComposite puts it in A0.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import savgol_filter

from dubkernels.face.landmarks68 import MOUTH, interocular
from dubkernels.face.mesh import base_points, topology
from dubkernels.face.mouth_match import (CLOSED_GAP, OPEN_GAP, SHAPE_POINTS, SelectionCosts, closed_to,
                                         closure_costs, deviations, followed, honour_closure, inner_gap, mistracked,
                                         mouth_shapes, placed, rest_shape, select_sequence, shape_distances,
                                         step_motion, transitions)
from dubkernels.face.mouth_overrides import (BARRED, Override, OverrideError, check_frames, constrain,
                                             forced_closed, opening_scale, parse_overrides)
from dubkernels.face.mouth_warp import draw_inner_mouth, inner_mouth_cover, mouth_interior_colour, warp_reach
from dubkernels.face.one_euro import zero_lag
from dubkernels.io.frames import Frame, Window, copy_metadata, frames_per_second, read_spec
from dubkernels.io.sequences import format_frames, output_sequence, parse_frames
from dubkernels.jobs.kinds import KINDS
from dubkernels.render.face_mesh import render_face
from dubkernels.render.jaw_band import BAND_DEPTH_IOD, band_mesh, render_band
from dubkernels.render.morph import flow_morph
from dubkernels.render.register import misregistration, nose_box
from dubkernels.render.softness import blurred, matching_blur, skin_box
from dubkernels.stages.base import Stage, fail
from dubkernels.stages.common import face_layer, plate, read_box, track_for
from dubkernels.tracks import Track, save_landmarks

SOURCE_PAD_PX = 3  # actor pixels read beyond the texture's reach (the cubic filter's taps)
INTERIOR_SAMPLES = 5  # the actor's widest-open frames whose mouth interior gives its colour
REGISTER_SLACK_PX = 1.0  # a drawn nose this close to the plate's is left where it is (the measure's noise)
REGISTER_MIN_PX = 0.25  # a move shorter than this is not worth drawing the face again


def _landmarks(track: Track, frames: list[int]) -> np.ndarray:
    """(N, 68, 2) landmarks of ``frames`` (NaN without a face)."""
    out = np.full((len(frames), 68, 2), np.nan)
    for i, f in enumerate(frames):
        lm = track.record(f).landmarks
        if lm is not None:
            out[i] = lm
    return out


def _poses(track: Track, frames: list[int]) -> np.ndarray:
    """(N, 2) yaw and pitch in radians (NaN without a pose)."""
    out = np.full((len(frames), 2), np.nan)
    for i, f in enumerate(frames):
        pose = track.record(f).pose
        if pose:
            out[i] = np.radians([pose["yaw"], pose["pitch"]])
    return out


def _beside(marked: np.ndarray, frames: list[int]) -> np.ndarray:
    """(N,) bool: frames next to a ``marked`` one (the frame before or after it in the take), not marked themselves."""
    step = np.diff(np.asarray(frames)) == 1
    out = np.zeros_like(marked)
    out[1:] |= marked[:-1] & step
    out[:-1] |= marked[1:] & step
    return out & ~marked


def steadied(track: Track, window: int) -> dict[int, np.ndarray]:
    """Frame -> the track's landmarks smoothed over ``window`` frames (Savitzky-Golay, quadratic: no lag, motion
    kept) within each run of consecutive tracked frames: the warp between two frames then moves the texture by the
    face's motion, not by dlib's frame-to-frame noise. Under 3 frames: as tracked."""
    frames = [f for f in track.frames if track.record(f).landmarks is not None]
    out = {f: np.asarray(track.record(f).landmarks, np.float64) for f in frames}
    if window < 3:
        return out
    start = 0
    for end in range(1, len(frames) + 1):
        if end < len(frames) and frames[end] == frames[end - 1] + 1:
            continue
        run = frames[start:end]
        size = min(window | 1, len(run) if len(run) % 2 else len(run) - 1)
        if size >= 3:
            smooth = savgol_filter(np.stack([out[f] for f in run]), size, 2, axis=0)
            out.update(zip(run, smooth))
        start = end
    return out


def steady_target(shapes: np.ndarray, frames: list[int], fps: float, cutoff: float, beta: float) -> np.ndarray:
    """The target's mouth shapes (N, P, 2) through a zero-lag 1 Euro filter (``cutoff`` Hz where the mouth rests,
    rising by ``beta`` per interocular distance per second of lip speed) within each run of consecutive frames with
    a face: the detector's jitter goes where the lips rest, a fast closure or opening keeps its frames."""
    out = shapes.copy()
    if cutoff <= 0:
        return out
    valid = np.isfinite(shapes).all(axis=(1, 2))
    times = np.asarray(frames, np.float64) / fps
    start = 0
    for end in range(1, len(frames) + 1):
        if end < len(frames) and valid[end] and valid[end - 1] and frames[end] == frames[end - 1] + 1:
            continue
        if valid[start] and end - start > 1:
            out[start:end] = zero_lag(shapes[start:end], times[start:end], cutoff, beta)
        start = end
    return out


class OwnMouth(Stage):
    """Warp the actor's own nearest mouth onto the dubber's mouth shape, frame by frame."""

    kind = KINDS["own_mouth"]

    def frames(self) -> list[int]:
        target = track_for(self.job.inputs["target_track"], "target_track")
        actor = set(track_for(self.job.inputs["actor_track"], "actor_track").frames)
        return [f for f in target.frames if f in actor]

    def prepare(self) -> list[str]:
        self.actor_track = track_for(self.job.inputs["actor_track"], "actor_track")
        self.target_track = track_for(self.job.inputs["target_track"], "target_track")
        shot = self.frames()
        sources = [f for f in self.actor_track.frames if self.actor_track.record(f).landmarks is not None]
        if not sources:
            raise fail(self.name, "the actor track has no frame with a face; analyze the actor plate first.")
        chunk = parse_frames(self.job.frames) if self.job.frames else shot
        p = self.params
        self.steady = steadied(self.actor_track, p.steady)
        actor_shapes = mouth_shapes(np.stack([self.steady[f] for f in sources]))
        target_shapes = steady_target(mouth_shapes(_landmarks(self.target_track, shot)), shot,
                                      self._fps(sources[0]), p.target_cutoff, p.target_beta)
        tracked_shapes = mouth_shapes(_landmarks(self.actor_track, sources))
        # a repaired or interpolated frame's mouth is the frames' around it, not what that frame shows
        guessed = np.array([self.actor_track.record(f).flag in ("repaired", "interpolated") for f in sources])
        lost = mistracked(tracked_shapes, actor_shapes) | guessed
        rest = rest_shape(actor_shapes[~lost] if (~lost).any() else actor_shapes)  # the closed mouth, as tracked
        actor_dev, target_dev = actor_shapes - rest, deviations(target_shapes)
        try:
            overrides = parse_overrides(p.overrides)
            check_frames(overrides, shot, sources)
        except OverrideError as exc:
            raise fail(self.name, str(exc)) from exc
        target_gap = inner_gap(target_shapes)
        closed = {i for i, f in enumerate(shot) if f in forced_closed(overrides)}
        target_gap[sorted(closed)] = 0.0  # the artist closes these lips, whatever the dubber's measure
        distances = shape_distances(target_dev, actor_dev, _poses(self.target_track, shot),
                                    _poses(self.actor_track, sources), p.pose_weight)
        # a source is closed where dlib reads it closed both as tracked and steadied (steadying can smooth a
        # glimpse of teeth away)
        closure = closure_costs(target_gap, np.fmax(inner_gap(actor_shapes), inner_gap(tracked_shapes)), CLOSED_GAP,
                                OPEN_GAP)
        costs = SelectionCosts(p.jump_cost, p.cut_disagreement, p.hold_cost, p.closure_weight, p.motion_weight)
        cost = distances + p.closure_weight * closure
        suspect = lost | _beside(lost, sources)  # the detector regains the lips over a frame or so
        if (~suspect).any():
            cost[:, suspect] = BARRED  # a mouth the detector lost may show teeth where its landmarks say closed lips
        cost = constrain(cost, shot, sources, overrides)
        picks = select_sequence(cost, shape_distances(actor_shapes, actor_shapes), costs,
                                step_motion(target_dev, actor_dev))
        self.source = {f: sources[s] for f, s in zip(shot, picks) if s >= 0}
        self.blend = {shot[t]: (sources[a], sources[b], w)
                      for t, (a, b, w) in transitions(picks, len(sources), p.blend_frames).items()}
        rest_gap = float(np.clip(inner_gap(rest[None])[0], 0.0, CLOSED_GAP / 2))
        self.dest, held = {}, {}
        for t, (f, s) in enumerate(zip(shot, picks)):
            if s >= 0:
                shape = followed(actor_shapes[s], actor_dev[s], target_dev[t], p.follow)
                shape = honour_closure(shape, target_gap[t], rest_gap) if p.closures or t in closed else shape
                scale = opening_scale(f, overrides)
                if scale != 1.0:
                    shape = closed_to(shape, scale * float(inner_gap(shape[None])[0]))
                reach = self._reach(sources[s], actor_shapes[s], shape)
                if reach < 1.0:
                    held[f] = reach
                self.dest[f] = self._transplant(f, actor_shapes[s] + reach * (shape - actor_shapes[s]))
        used = {self.source[f] for f in chunk if f in self.source}
        used |= {s for f in chunk if f in self.blend for s in self.blend[f][:2]}
        widest = [sources[i] for i in np.argsort(-np.nan_to_num(inner_gap(actor_shapes), nan=-1.0))[:INTERIOR_SAMPLES]]
        self.plate = plate(self.job.inputs["actor"], sorted(used | set(chunk) | set(widest)), "actor")
        self.interior = self._interior_colour(widest)
        notes = self.plate_notes(self.actor_track, self.plate, list(self.plate.frames), "actor_track")
        notes += self._notes(shot, distances[np.arange(len(shot)), np.maximum(picks, 0)], picks, held, overrides)
        if lost.any():
            notes.append(f"actor frames {format_frames([f for f, x in zip(sources, lost) if x])}: dlib lost the lips "
                         "there (inner lips crossed, jumping from frame to frame, or repaired); neither they nor the "
                         "frames beside them are used as sources")
        if "landmarks" in self.job.outputs:
            save_landmarks(self.job.outputs["landmarks"], self.dest, "own_mouth")
        return notes

    def _fps(self, frame: int) -> float:
        """The actor plate's frame rate (FramesPerSecond of ``frame``; 25 when the header has none)."""
        return frames_per_second(output_sequence(self.job.inputs["actor"], [frame]).path(frame), frame) or 25.0

    def _notes(self, shot: list[int], nearest: np.ndarray, picks: np.ndarray, held: dict[int, float],
               overrides: list[Override]) -> list[str]:
        """What the summary (and the report) says of the selection: frames the take cannot reach, frames the warp
        held short, the overrides, the runs."""
        notes = []
        far = [f for f, d, p in zip(shot, nearest, picks) if p >= 0 and d > self.params.max_distance]
        if far:
            notes.append(f"frames {format_frames(far)}: no actor frame has a mouth near the dubber's (nearest "
                         f"{float(nearest[[shot.index(f) for f in far]].max()):.3f} interocular distances, more than "
                         f"max_distance {self.params.max_distance}): the actor's take lacks that shape")
        if held:
            notes.append(f"frames {format_frames(sorted(held))}: the dubber's mouth is beyond what the actor's frames "
                         f"can be warped to without folding or streaking; followed {100 * min(held.values()):.0f}-"
                         f"{100 * max(held.values()):.0f}% of the way")
        if overrides:
            notes.append(f"{len(overrides)} override(s) applied: {self.params.overrides.strip()}")
        jumps = sum(1 for a, b in zip(shot, shot[1:]) if a in self.source and b in self.source
                    and self.source[b] != self.source[a] + 1)
        notes.append(f"{len(set(self.source.values()))} actor frames used, {jumps} cuts between runs")
        return notes

    def _reach(self, source_frame: int, source_shape: np.ndarray, shape: np.ndarray) -> float:
        """How much of the change from ``source_shape`` to ``shape`` the mesh takes in the source frame's own pose
        without a fold or a streak (:func:`dubkernels.face.mouth_warp.warp_reach`)."""
        source = self.steady[source_frame]
        wanted = source.copy()
        wanted[list(SHAPE_POINTS)] = placed(shape, source)
        wanted[list(SHAPE_POINTS)] += source[list(SHAPE_POINTS)] - placed(source_shape, source)  # the fit's residue
        return warp_reach(source, wanted)

    def _interior_colour(self, frames: list[int]) -> np.ndarray:
        """The actor's mouth-interior colour, sampled on the frames of the take whose mouth is widest open."""
        images, points = [], []
        for f in frames:
            landmarks = self.actor_track.record(f).landmarks
            assert landmarks is not None
            x0, y0 = np.floor(landmarks[list(MOUTH)].min(axis=0)).astype(int) - 4
            x1, y1 = np.ceil(landmarks[list(MOUTH)].max(axis=0)).astype(int) + 4
            box = (max(int(x0), 0), max(int(y0), 0), min(int(x1), self.actor_track.width),
                   min(int(y1), self.actor_track.height))
            _, rgb = read_box(self.plate, f, self.actor_track, "actor", box)
            images.append(rgb)
            points.append(landmarks - box[:2])
        return mouth_interior_colour(images, points)

    def _transplant(self, frame: int, shape: np.ndarray) -> np.ndarray:
        """The actor's landmarks at ``frame`` with the chosen frame's mouth and lower jaw (a normalised
        ``shape``) put in their place: the actor's own mouth, in this frame's head pose."""
        landmarks = self.steady.get(frame)
        if landmarks is None:
            raise fail(self.name, f"frame {frame}: the actor track has no face here; analyze the actor plate "
                                  "over the whole shot.")
        out = landmarks.copy()
        out[list(SHAPE_POINTS)] = placed(shape, landmarks)
        return out

    def frame_plan(self, frame: int) -> Any:
        """The actor frame(s) drawn and the blend between them, where their landmarks put them and the mouth they
        are warped to, the interior colour, the jaw band: an override or a change of selection redraws only the
        frames it moves."""
        if frame not in self.dest:
            return ["no face"]
        sources = self.blend[frame] if frame in self.blend else (self.source[frame],)
        return [list(sources), np.round(self.dest[frame], 4).tolist(),
                [np.round(self.steady[s], 4).tolist() for s in sources[:2]], np.round(self.interior, 6).tolist(),
                self.params.chin]

    def frame_inputs(self, frame: int) -> list[Path]:
        sources = self.blend[frame][:2] if frame in self.blend else (self.source.get(frame, frame),)
        # the band and the blur match read the frame's own plate
        drawn = sorted({*sources, frame} if self.params.chin or self.params.match_blur else set(sources))
        return [output_sequence(self.job.inputs["actor"], [s]).path(s) for s in drawn]

    def render(self, frame: int) -> dict[str, Frame]:
        target = self.dest.get(frame)
        width, height = self.actor_track.width, self.actor_track.height
        if target is None:
            return {"out": face_layer(np.zeros((1, 1, 4), np.float32), (0, 0), Window(0, 0, width, height))}
        rgba, window, display = self._drawn(frame, target)
        move = self._registration(frame, rgba, window) if self.params.register else None
        if move is not None:  # drawn again where the plate shows the face: one warp, as sharp
            target = target + move
            rgba, window, display = self._drawn(frame, target)
        if self.params.chin:
            rgba, window = self._around_mouth(frame, target, rgba, window)
        layer = face_layer(rgba, (display.x + window.x, display.y + window.y), display)
        copy_metadata(layer, read_spec(self.plate.path(frame), frame))  # frame's own timecode, not the source's
        return {"out": layer}

    def _drawn(self, frame: int, target: np.ndarray) -> tuple[np.ndarray, Window, Window]:
        """The face drawn onto ``target`` landmarks at ``frame``: its actor frame's, or where two runs of actor frames
        meet, the one morphed into the other along the motion (as :meth:`_draw` returns it)."""
        if frame not in self.blend:
            return self._draw(self.source[frame], target, frame)
        first, second, weight = self.blend[frame]
        rgba_a, window, display = self._draw(first, target, frame)
        return flow_morph(rgba_a, self._draw(second, target, frame)[0], weight), window, display

    def _draw(self, source_frame: int, target: np.ndarray, frame: int) -> tuple[np.ndarray, Window, Window]:
        """Actor frame ``source_frame``'s face warped onto the ``target`` landmarks of ``frame`` (blurred to that
        frame's softness): premultiplied RGBA, the window it covers (display coordinates from the display window's
        origin) and the plate's display window."""
        width, height = self.actor_track.width, self.actor_track.height
        source = self.steady[source_frame]
        topo = topology()
        dest, uv = topo.dense(base_points(target)), topo.dense(base_points(source))
        image, rgb, box = self._texture(source_frame, uv)
        matched = self.params.match_blur and source_frame != frame
        sigma = self._matching_blur(source_frame, frame, rgb, box) if matched else 0.0
        warped, alpha, window = render_face(dest, np.zeros(len(dest)), uv, rgb, box[:2], (width, height))
        rgba = np.dstack([np.maximum(warped, 0.0) * alpha[..., None], alpha]).astype(np.float32)
        rgba = draw_inner_mouth(rgba, (window.x, window.y), target, self.interior, inner_mouth_cover(source, target))
        return blurred(rgba, sigma), window, image.display_window  # the painted mouth interior with the texture

    def _matching_blur(self, source_frame: int, frame: int, texture: np.ndarray,
                       texture_box: tuple[int, int, int, int]) -> float:
        """The blur (source pixels) that brings actor frame ``source_frame``'s skin around the lips (cut from its
        ``texture``, read over ``texture_box``, where that holds it) down to ``frame``'s softness
        (:mod:`dubkernels.render.softness`)."""
        size = (self.actor_track.width, self.actor_track.height)
        source_skin, frame_skin = skin_box(self.steady[source_frame], size), skin_box(self.steady[frame], size)
        if source_skin is None or frame_skin is None:
            return 0.0
        (source_box, source_keep), (frame_box, frame_keep) = source_skin, frame_skin
        x0, y0, x1, y1 = source_box
        tx0, ty0, tx1, ty1 = texture_box
        if tx0 <= x0 and ty0 <= y0 and x1 <= tx1 and y1 <= ty1:
            source_rgb = texture[y0 - ty0 : y1 - ty0, x0 - tx0 : x1 - tx0]
        else:
            source_rgb = read_box(self.plate, source_frame, self.actor_track, "actor", source_box)[1]
        frame_rgb = read_box(self.plate, frame, self.actor_track, "actor", frame_box)[1]
        return matching_blur(source_rgb, source_keep, frame_rgb, frame_keep)

    def _registration(self, frame: int, rgba: np.ndarray, window: Window) -> np.ndarray | None:
        """How far (dx, dy) to move the drawn face (premultiplied ``rgba`` over ``window``) toward where this frame's
        plate shows its nose (:mod:`dubkernels.render.register`): the offset beyond ``REGISTER_SLACK_PX`` (within
        it, the measure's own noise: moving there would make the mouth shimmer); None where there is nothing to
        move, the nose is not drawn whole or does not match."""
        landmarks = self.steady[frame]
        box = nose_box(landmarks, (self.actor_track.width, self.actor_track.height))
        if box is None:
            return None
        x0, y0, x1, y1 = box
        if x0 < window.x or y0 < window.y or x1 > window.x_end or y1 > window.y_end:
            return None
        drawn = rgba[y0 - window.y : y1 - window.y, x0 - window.x : x1 - window.x]
        if (drawn[..., 3] < 1.0 - 1e-3).any():  # the drawn face does not cover the nose whole
            return None
        plate_rgb = read_box(self.plate, frame, self.actor_track, "actor", box)[1]
        move = misregistration(drawn[..., :3], plate_rgb, interocular(landmarks))
        if move is None:
            return None
        excess = np.asarray(move) * max(0.0, 1.0 - REGISTER_SLACK_PX / max(float(np.hypot(*move)), 1e-9))
        return excess if np.hypot(*excess) >= REGISTER_MIN_PX else None

    def _texture(self, frame: int, points: np.ndarray) -> tuple[Frame, np.ndarray, tuple[int, int, int, int]]:
        """The actor plate at ``frame`` read around ``points`` (with the resampler's reach): the frame, its RGB
        and the box read (x0, y0, x1, y1)."""
        x0, y0 = np.floor(points.min(axis=0)).astype(int) - SOURCE_PAD_PX
        x1, y1 = np.ceil(points.max(axis=0)).astype(int) + SOURCE_PAD_PX
        box = (max(int(x0), 0), max(int(y0), 0), min(int(x1), self.actor_track.width),
               min(int(y1), self.actor_track.height))
        image, rgb = read_box(self.plate, frame, self.actor_track, "actor", box)
        return image, rgb, box

    def _around_mouth(self, frame: int, target: np.ndarray, mouth: np.ndarray, window: Window) -> tuple[np.ndarray,
                                                                                                     Window]:
        """The drawn face (premultiplied RGBA over ``window``) over this frame's plate below the jaw, moved to meet
        the drawn jaw (:mod:`dubkernels.render.jaw_band`): the composite takes the chin with the mouth, and the
        plate's neck follows it with no second jaw line."""
        size = (self.actor_track.width, self.actor_track.height)
        plate_landmarks = self.steady[frame]
        _, uv, _ = band_mesh(plate_landmarks, target, BAND_DEPTH_IOD * interocular(plate_landmarks))
        _, texture, box = self._texture(frame, uv)
        band, alpha, band_window = render_band(plate_landmarks, target, texture, box[:2], size)
        band = np.dstack([np.maximum(band, 0.0) * alpha[..., None], alpha]).astype(np.float32)
        return _union([(band, band_window), (mouth, window)])


def _placed(rgba: np.ndarray, window: Window, into: Window) -> np.ndarray:
    """``rgba`` over ``window`` put into the larger window ``into`` (zero elsewhere)."""
    out = np.zeros((into.height, into.width, rgba.shape[2]), np.float32)
    out[window.y - into.y : window.y_end - into.y, window.x - into.x : window.x_end - into.x] = rgba
    return out


def _union(layers: list[tuple[np.ndarray, Window]]) -> tuple[np.ndarray, Window]:
    """Premultiplied RGBA layers, each over its window, laid over one another in order (the last on top), over the
    window that holds them all."""
    x0, y0 = min(w.x for _, w in layers), min(w.y for _, w in layers)
    x1, y1 = max(w.x_end for _, w in layers), max(w.y_end for _, w in layers)
    into = Window(x0, y0, x1 - x0, y1 - y0)
    out: np.ndarray = np.zeros((into.height, into.width, 4), np.float32)
    for rgba, window in layers:
        layer = _placed(rgba, window, into)
        out = (layer + out * (1.0 - layer[..., 3:4])).astype(np.float32)
    return out, into
