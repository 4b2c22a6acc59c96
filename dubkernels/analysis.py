"""Analyze a plate: track one face through a shot and write its track.

Per frame (streamed, never the whole shot in memory): detect on a downscaled
copy of the frame, or, once a face is tracked, on a small region around the
previous box; landmarks at full resolution, fitted in the detector's box and then
again in the box of that first fit (the box generated faces are measured in, from a
guide's landmarks: fitted from the detector's box alone, dlib lost the lips of pair A's
bearded actor on 133 of 502 frames, refitted on 59, and the lips jitter less on every
pair); head pose. Several faces: keep the
tracked one (or the one nearest ``face_hint``, else the most prominent) and note it.
No face: the frame is flagged; gaps of at most ``max_gap`` frames are filled
by interpolation, longer ones fail with a clear message unless
``passthrough_missing`` is set (those frames are then flagged ``missing``).

With a guide (landmarks known where a face was drawn: PoseAlign's, or the track of
the input of IdentitySwap, which keeps the expression), the landmarks are fitted in
the guide's box, and where they stray from the guide by more than
``guide_tolerance`` interocular distances the guide's are kept (flag ``guided``), so
no frame of a generated face is lost to the detector.

Without a guide, a frame whose fit jumps off the face's path, or whose mouth jumps away from where the
frames around put it on the face (dlib lost the face or the lips on a blur or a beard,
:mod:`dubkernels.face.jumps`), gets the landmarks, or the mouth and lower jaw, of the frames around it
(flag ``repaired``); ``face_jump`` and ``mouth_jump`` 0 turn that off.

Example:
    >>> track = analyze_sequence(resolve_sequence("plate.####.exr"))
    >>> save_track(track, "plate.track.json")
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

import cv2
import numpy as np

from dubkernels.colour import ColourSpaces, to_uint8
from dubkernels.errors import FaceError, FrameError
from dubkernels.face.detect import Detection, FaceDetector, iou, to_gray
from dubkernels.face.landmarks68 import interocular
from dubkernels.face.jumps import face_jumps, interpolated, mouth_jumps, repaired_mouths
from dubkernels.face.pose import estimate_head_pose
from dubkernels.io.frames import Window, check_finite, read_frame, read_region, read_spec
from dubkernels.io.sequences import FrameSequence, format_frames
from dubkernels.tracks import FrameRecord, Track, box_from_landmarks, file_digest

log = logging.getLogger(__name__)

TRACK_FACE_PX = 110.0  # the tracking search region is scaled so the face is about this wide
TRACK_SEARCH_WIDTHS = 1.1  # while tracking, the face is looked for this many previous face widths around it
MIN_TRACK_IOU = 0.3  # a detection in the search region must overlap the previous box this much


@dataclass
class AnalysisSettings:
    """Knobs of the analysis (stored in the track)."""

    detector: str = "hog"
    detect_size: int = 640  # longer side of the downscaled frame for full-frame detection
    max_gap: int = 5  # longest run of faceless frames filled by interpolation
    passthrough_missing: bool = False
    face_hint: tuple[float, float] | None = None  # plate point on the face to keep when several
    colourspace: str | None = None  # colourspace of the plate; default: the working space
    predictor: str | None = None  # a 68-point dlib shape predictor file; default: face-recognition-models'
    guide_tolerance: float = 0.2  # mean landmark distance to the guide, in interocular distances
    face_jump: float = 0.1  # without a guide: a fit this far (interocular distances) off the face's path is repaired
    mouth_jump: float = 0.08  # without a guide: a mouth this far from where its neighbours put it on the face is repaired


class FaceAnalyzer:
    """Finds and follows one face frame by frame (no I/O)."""

    def __init__(self, settings: AnalysisSettings, colour: ColourSpaces, detector: FaceDetector | None = None):
        self.settings = settings
        self.colour = colour
        self.detector = detector or FaceDetector(settings.detector, settings.predictor)
        self.previous: Detection | None = None
        self.notes: list[str] = []

    def _gray(self, linear: np.ndarray) -> np.ndarray:
        net = self.colour.to_network(linear, self.settings.colourspace)
        return to_gray(to_uint8(net))

    def _full_frame(self, rgb: np.ndarray, frame: int) -> Detection | None:
        h, w = rgb.shape[:2]
        scale = min(1.0, self.settings.detect_size / max(h, w))
        small = rgb if scale == 1.0 else cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        gray = self._gray(small)
        found = self.detector.detect(gray)
        if not found:
            found = self.detector.detect(gray, upsample=1)
        if not found:
            return None
        found = [d.scaled(1.0 / scale) for d in found]
        chosen = self._choose(found)
        if len(found) > 1:
            self.notes.append(
                f"frame {frame}: {len(found)} faces; kept the {self._reason()} one at "
                f"x={chosen.box[0]:.0f}, y={chosen.box[1]:.0f}"
            )
        return chosen

    def _reason(self) -> str:
        if self.previous is not None:
            return "tracked"
        return "hinted" if self.settings.face_hint else "most prominent (size x detector score)"

    def _choose(self, found: list[Detection]) -> Detection:
        if self.previous is not None:
            previous = self.previous.box
            return max(found, key=lambda d: iou(d.box, previous))
        if self.settings.face_hint:
            hx, hy = self.settings.face_hint

            def distance(d: Detection) -> float:
                cx, cy = (d.box[0] + d.box[2]) / 2, (d.box[1] + d.box[3]) / 2
                return float(np.hypot(cx - hx, cy - hy))

            return min(found, key=distance)
        return max(found, key=lambda d: d.width * max(d.score, 0.0))  # big and sure beats big and doubtful

    def search_region(self) -> Window | None:
        """Where the next frame's face is looked for first (display coordinates): around the previous box;
        None before a face is tracked. Its landmarks may need more of the plate (:func:`landmark_region`)."""
        prev = self.previous
        if prev is None:
            return None
        cx, cy = (prev.box[0] + prev.box[2]) / 2, (prev.box[1] + prev.box[3]) / 2
        half = int(np.ceil(prev.width * TRACK_SEARCH_WIDTHS)) + 2
        return Window(int(cx) - half, int(cy) - half, 2 * half, 2 * half)

    def near_previous(self, rgb: np.ndarray, origin: tuple[int, int] = (0, 0),
                      size: tuple[int, int] | None = None) -> Detection | None:
        """The face near the previous one in ``rgb`` (the plate from ``origin``); None when it is not there."""
        prev = self.previous
        if prev is None:
            return None
        w, h = size or (rgb.shape[1], rgb.shape[0])
        ox, oy = origin
        cx, cy = (prev.box[0] + prev.box[2]) / 2, (prev.box[1] + prev.box[3]) / 2
        half = prev.width * TRACK_SEARCH_WIDTHS
        x0, y0 = int(max(cx - half, 0)), int(max(cy - half, 0))
        x1, y1 = int(min(cx + half, w)), int(min(cy + half, h))
        if x1 - x0 < 16 or y1 - y0 < 16:
            return None
        scale = min(1.0, TRACK_FACE_PX / prev.width)
        region = rgb[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
        if scale < 1.0:
            region = cv2.resize(region, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        found = [d.scaled(1.0 / scale, x0, y0) for d in self.detector.detect(self._gray(region))]
        found = [d for d in found if iou(d.box, prev.box) >= MIN_TRACK_IOU]
        return max(found, key=lambda d: iou(d.box, prev.box)) if found else None

    def _landmarks(self, rgb: np.ndarray, box: tuple[float, float, float, float],
                   origin: tuple[int, int] = (0, 0)) -> np.ndarray:
        """Landmarks of the face in ``box``; ``rgb`` covers the plate from pixel ``origin``."""
        h, w = rgb.shape[:2]
        ox, oy = origin
        bw, bh = box[2] - box[0], box[3] - box[1]
        x0, y0 = int(max(box[0] - 0.5 * bw - ox, 0)), int(max(box[1] - 0.5 * bh - oy, 0))
        x1, y1 = int(min(box[2] + 0.5 * bw - ox, w)), int(min(box[3] + 0.5 * bh - oy, h))
        gray = self._gray(rgb[y0:y1, x0:x1])
        local = (box[0] - ox - x0, box[1] - oy - y0, box[2] - ox - x0, box[3] - oy - y0)
        return self.detector.landmarks(gray, local) + (x0 + ox, y0 + oy)

    def guided(self, rgb: np.ndarray, frame: int, guide: np.ndarray, origin: tuple[int, int] = (0, 0),
               size: tuple[int, int] | None = None) -> FrameRecord:
        """Landmarks fitted in the box of known landmarks ``guide``; the guide itself where they stray.

        ``rgb`` covers the plate from pixel ``origin`` (see :func:`guide_region`); ``size`` is the
        plate's (width, height) when ``rgb`` is a region of it.
        """
        w, h = size or (rgb.shape[1], rgb.shape[0])
        box = box_from_landmarks(guide)
        landmarks = self._landmarks(rgb, box, origin)
        error = float(np.linalg.norm(landmarks - guide, axis=1).mean() / max(interocular(guide), 1e-6))
        flag, confidence = "detected", max(0.0, 1.0 - error)
        if error > self.settings.guide_tolerance:
            landmarks, flag, confidence = guide.copy(), "guided", 0.0
        self.previous = Detection(box, confidence)
        pose = estimate_head_pose(landmarks, w, h).as_dict()
        return FrameRecord(frame, flag, landmarks, box_from_landmarks(landmarks), confidence, pose)

    def analyze(self, rgb: np.ndarray, frame: int, guide: np.ndarray | None = None) -> FrameRecord:
        """Analyze one display-window RGB frame (scene-linear float32), with known landmarks if given."""
        if guide is not None:
            return self.guided(rgb, frame, guide)
        found = self.near_previous(rgb) or self._full_frame(rgb, frame)
        if found is None:
            self.previous = None
            return FrameRecord(frame, "missing")
        return self.detected(rgb, frame, found)

    def detected(self, rgb: np.ndarray, frame: int, found: Detection, origin: tuple[int, int] = (0, 0),
                 size: tuple[int, int] | None = None) -> FrameRecord:
        """The record of face ``found``: its landmarks fitted in ``rgb`` (covering :func:`landmark_region`) in the
        detector's box, then again in the box of that fit (see the module notes)."""
        self.previous = found
        landmarks = self._landmarks(rgb, found.box, origin)
        landmarks = self._landmarks(rgb, box_from_landmarks(landmarks), origin)
        w, h = size or (rgb.shape[1], rgb.shape[0])
        pose = estimate_head_pose(landmarks, w, h).as_dict()
        return FrameRecord(frame, "detected", landmarks, found.box, found.score, pose)


def landmark_region(box: tuple[float, float, float, float]) -> Window:
    """The plate region (display coordinates) landmarks are fitted in for a face box: the box and half its size
    each way."""
    bw, bh = box[2] - box[0], box[3] - box[1]
    x0, y0 = int(np.floor(box[0] - 0.5 * bw)) - 1, int(np.floor(box[1] - 0.5 * bh)) - 1
    return Window(x0, y0, int(np.ceil(box[2] + 0.5 * bw)) + 2 - x0, int(np.ceil(box[3] + 0.5 * bh)) + 2 - y0)


def _covering(a: Window, b: Window) -> Window:
    x0, y0 = min(a.x, b.x), min(a.y, b.y)
    return Window(x0, y0, max(a.x_end, b.x_end) - x0, max(a.y_end, b.y_end) - y0)


def guide_region(guide: np.ndarray) -> Window:
    """The plate region (display coordinates) guided analysis looks at: the guide's box and half its
    size around it, plus a few pixels."""
    x0, y0, x1, y1 = box_from_landmarks(guide)
    bw, bh = x1 - x0, y1 - y0
    left, top = int(np.floor(x0 - 0.5 * bw)) - 2, int(np.floor(y0 - 0.5 * bh)) - 2
    return Window(left, top, int(np.ceil(x1 + 0.5 * bw)) + 2 - left, int(np.ceil(y1 + 0.5 * bh)) + 2 - top)


def fill_gaps(records: list[FrameRecord], width: int, height: int, max_gap: int, passthrough: bool, source: str) -> list[str]:
    """Interpolate short runs of faceless frames in place; returns notes. Long runs fail unless ``passthrough``."""
    notes = []
    have = [i for i, r in enumerate(records) if r.has_face]
    if not have:
        raise FaceError(
            f"{source}: no face found in any of frames {format_frames([r.frame for r in records])}; "
            "check the plate, try the CNN detector (`analyze --detector cnn`; in a shot file `--set "
            "analyze.detector=cnn`), or add landmarks by hand (`analyze --overrides FILE`)."
        )
    for start, end in _missing_runs(records):
        frames = [records[i].frame for i in range(start, end)]
        if end - start > max_gap:
            if passthrough:
                notes.append(f"frames {format_frames(frames)}: no face; passed through")
                continue
            raise FaceError(
                f"{source}: no face in frames {format_frames(frames)} ({end - start} frames, more than the "
                f"{max_gap} filled in); fill them (`analyze --max-gap {end - start}`; in a shot file `--set "
                f"analyze.max_gap={end - start}`), leave them untouched (`--passthrough-missing`; `--set "
                "analyze.passthrough_missing=true`), or give landmarks for them (`analyze --overrides FILE`)."
            )
        for i in range(start, end):
            lm = _interpolated_landmarks(records, start, end, i)
            rec = records[i]
            rec.flag, rec.landmarks, rec.box, rec.confidence = "interpolated", lm, box_from_landmarks(lm), 0.0
            rec.pose = estimate_head_pose(lm, width, height).as_dict()
        notes.append(f"frames {format_frames(frames)}: no face; interpolated")
    return notes


def _interpolated_landmarks(records: list[FrameRecord], start: int, end: int, i: int) -> np.ndarray:
    """Landmarks for faceless record ``i`` of the run [start, end): linear between the faces around the
    run, or the nearest face when the run touches the start or end of the shot."""
    before = records[start - 1].landmarks if start > 0 else None
    after = records[end].landmarks if end < len(records) else None
    if before is None or after is None:
        held = before if before is not None else after
        assert held is not None
        return held.copy()
    t = (i - (start - 1)) / (end - (start - 1))
    return (1.0 - t) * before + t * after


def repair_jumps(records: list[FrameRecord], width: int, height: int, face_jump: float,
                 mouth_jump: float) -> list[str]:
    """Give frames whose fit jumped off the face's path the landmarks of the frames around, and frames whose mouth
    jumped away from the face their mouth and lower jaw (thresholds in interocular distances; 0: not looked for),
    in place (flag ``repaired``); returns notes."""
    landmarks = np.full((len(records), 68, 2), np.nan)
    for i, r in enumerate(records):
        if r.landmarks is not None and r.flag != "missing":
            landmarks[i] = r.landmarks
    off_face = face_jumps(landmarks, face_jump) if face_jump > 0 else np.zeros(len(records), bool)
    landmarks = interpolated(landmarks, off_face)
    off_mouth = (mouth_jumps(landmarks, mouth_jump) if mouth_jump > 0 else np.zeros(len(records), bool)) & ~off_face
    landmarks = repaired_mouths(landmarks, off_mouth)
    for i in map(int, np.flatnonzero(off_face | off_mouth)):
        rec = records[i]
        rec.flag, rec.landmarks, rec.confidence = "repaired", landmarks[i], 0.0
        rec.box = box_from_landmarks(landmarks[i]) if off_face[i] else rec.box
        rec.pose = estimate_head_pose(landmarks[i], width, height).as_dict()
    notes = []
    if off_face.any():
        notes.append(f"frames {format_frames([records[i].frame for i in np.flatnonzero(off_face)])}: the fit jumped "
                     "off the face's path (dlib lost the face); landmarks interpolated from the frames around")
    if off_mouth.any():
        notes.append(f"frames {format_frames([records[i].frame for i in np.flatnonzero(off_mouth)])}: the mouth "
                     "jumped away from the face (dlib lost the lips); mouth and lower jaw interpolated from the "
                     "frames around")
    return notes


def _missing_runs(records: list[FrameRecord]) -> Iterable[tuple[int, int]]:
    i = 0
    while i < len(records):
        if records[i].has_face:
            i += 1
            continue
        j = i
        while j < len(records) and not records[j].has_face:
            j += 1
        yield i, j
        i = j


SEGMENT_FRAMES = 48  # frames tracked as one run: runs are analysed side by side (one per worker) and stitched


@dataclass
class Segment:
    """One run of frames tracked in order: its records, notes and the plate's (width, height)."""

    records: list[FrameRecord]
    notes: list[str]
    size: tuple[int, int]


SegmentRunner = Callable[[list[list[int]]], Iterable[Segment]]


def segments_of(frames: Iterable[int]) -> list[list[int]]:
    """The shot's frames in runs of :data:`SEGMENT_FRAMES` (fixed, so the track is the same whatever the
    number of workers)."""
    frames = list(frames)
    return [frames[i : i + SEGMENT_FRAMES] for i in range(0, len(frames), SEGMENT_FRAMES)]


def track_frames(sequence: FrameSequence, frames: list[int], settings: AnalysisSettings, colour: ColourSpaces,
                 guide: dict[int, np.ndarray] | None = None, previous: Detection | None = None,
                 progress: Callable[[int], None] | None = None) -> Segment:
    """Track the face through ``frames`` of ``sequence`` in order, from ``previous``'s box when given (else the
    first frame is searched whole)."""
    analyzer = FaceAnalyzer(settings, colour)
    analyzer.previous = previous
    records: list[FrameRecord] = []
    size: tuple[int, int] | None = None
    channels = tuple(read_spec(sequence.path(sequence.first), sequence.first).channelnames)
    for number in frames:
        path = sequence.path(number)
        known = (guide or {}).get(number)
        # Only a region is read where the face is known (a guide) or expected (tracking); the whole frame
        # when it is not, or not found there.
        region = guide_region(known) if known is not None else analyzer.search_region()
        record = None
        origin = (0, 0)
        if region is not None:
            rgb, size = _read(path, number, size, channels, region)
            origin = (region.x, region.y)
            if known is not None:
                record = analyzer.guided(rgb, number, known, origin, size)
            elif (found := analyzer.near_previous(rgb, origin, size)) is not None:
                needed = _covering(region, landmark_region(found.box))
                if needed != region:  # the face moved: the landmarks need more of the plate than was searched
                    region = needed
                    rgb, size = _read(path, number, size, channels, region)
                    origin = (region.x, region.y)
                record = analyzer.detected(rgb, number, found, origin, size)
        if record is None:
            rgb, size, origin = *_read(path, number, size, channels), (0, 0)
            record = analyzer.analyze(rgb, number)
        if record.box is not None:
            _check_face_finite(rgb, origin, record.box, f"{path} (frame {number})")
        record.digest = file_digest(path)
        records.append(record)
        if progress:
            progress(1)
    assert size is not None
    return Segment(records, analyzer.notes, size)


def _in_turn(sequence: FrameSequence, settings: AnalysisSettings, colour: ColourSpaces,
             guide: dict[int, np.ndarray] | None, progress: Callable[[int], None] | None) -> SegmentRunner:
    """Segments tracked one after the other in this process."""
    def run(segments: list[list[int]]) -> Iterable[Segment]:
        return (track_frames(sequence, frames, settings, colour, guide, progress=progress) for frames in segments)
    return run


def analyze_sequence(
    sequence: FrameSequence,
    settings: AnalysisSettings | None = None,
    colour: ColourSpaces | None = None,
    progress: Callable[[int], None] | None = None,
    guide: dict[int, np.ndarray] | None = None,
    runner: SegmentRunner | None = None,
) -> Track:
    """Analyze every frame of ``sequence``; returns the track (not yet saved).

    ``guide`` maps frames to known landmarks (see the module notes). The frames are tracked in runs of
    :data:`SEGMENT_FRAMES`, by ``runner`` (side by side, e.g. a pool of workers; default: in turn, here); where a
    run's first face is not the one the run before it ended on (another face of the plate, or a jump), that run is
    tracked again from the end of the one before, as one long run would have been.
    """
    settings = settings or AnalysisSettings()
    colour = colour or ColourSpaces()
    segments = segments_of(sequence.frames)
    parts = list((runner or _in_turn(sequence, settings, colour, guide, progress))(segments))
    for k in range(1, len(parts)):
        last, first = parts[k - 1].records[-1], parts[k].records[0]
        tracked = guide is None or first.frame not in guide
        if tracked and last.box is not None and first.box is not None and iou(last.box, first.box) < MIN_TRACK_IOU:
            parts[k] = track_frames(sequence, segments[k], settings, colour, guide, Detection(last.box, last.confidence))
    width, height = parts[0].size
    for frames, part in zip(segments, parts):
        if part.size != (width, height):
            raise FaceError(f"{sequence.path(frames[0])} (frame {frames[0]}): display window {part.size[0]}x"
                            f"{part.size[1]} differs from the first frame's {width}x{height}; every frame of a plate "
                            "must have one resolution.")
    records = [r for part in parts for r in part.records]
    notes = [note for part in parts for note in part.notes]
    guided = [r.frame for r in records if r.flag == "guided"]
    if guided:
        notes.append(f"frames {format_frames(guided)}: detection strayed from the guide; its landmarks kept")
    notes += fill_gaps(records, width, height, settings.max_gap, settings.passthrough_missing, sequence.pattern)
    if guide is None:
        notes += repair_jumps(records, width, height, settings.face_jump, settings.mouth_jump)
    return Track(sequence.pattern, width, height, records, _settings_dict(settings, colour), notes)


def _read(path: Path, number: int, size: tuple[int, int] | None, channels: tuple[str, ...],
          region: Window | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """RGB of a frame over ``region`` (else the display window), checked against the plate's resolution
    (``size``, the first frame's) and ``channels`` (the plate's first frame's); returns it and the frame's (width,
    height)."""
    frame = read_region(path, region, number) if region is not None else read_frame(path, number)
    disp = frame.display_window
    if size is not None and size != (disp.width, disp.height):
        raise FaceError(
            f"{path} (frame {number}): display window {disp.width}x{disp.height} differs from the "
            f"first frame's {size[0]}x{size[1]}; every frame of a plate must have one resolution."
        )
    if frame.channel_names != channels:
        raise FaceError(
            f"{path} (frame {number}): channels {', '.join(frame.channel_names)} differ from the plate's first "
            f"frame's ({', '.join(channels)}); every frame of a plate must have the same channels: write this one "
            "again as the others are."
        )
    rgb = frame.region_rgb(region) if region is not None else frame.display_rgb()
    return rgb, (disp.width, disp.height)


def _check_face_finite(rgb: np.ndarray, origin: tuple[int, int], box: tuple[float, float, float, float],
                       where: str) -> None:
    """NaN/Inf around the face (the box and half its size each way) is an error naming the frame; elsewhere
    the plate's pixels are its own and pass through the dub untouched."""
    bw, bh = box[2] - box[0], box[3] - box[1]
    x0, y0 = max(int(box[0] - 0.5 * bw) - origin[0], 0), max(int(box[1] - 0.5 * bh) - origin[1], 0)
    x1, y1 = max(int(box[2] + 0.5 * bw) - origin[0], 0), max(int(box[3] + 0.5 * bh) - origin[1], 0)
    area = rgb[y0:y1, x0:x1]
    try:
        check_finite(area, where)
    except FrameError as exc:  # name the pixel in plate coordinates
        bad = np.argwhere(~np.isfinite(area).all(axis=-1))[0]
        raise FrameError(str(exc).replace(f"x={bad[1]}, y={bad[0]}",
                                          f"x={bad[1] + x0 + origin[0]}, y={bad[0] + y0 + origin[1]}")) from None


def _settings_dict(settings: AnalysisSettings, colour: ColourSpaces) -> dict:
    out = asdict(settings)
    out["colourspace"] = settings.colourspace or colour.working
    out["ocio_config"] = colour.config.getName()
    return out
