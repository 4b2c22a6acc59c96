"""Track files: one versioned JSON analysis per clip, plus hand-made overrides.

A track holds, per frame: the 68 landmarks, the face box, head pose,
detector confidence, a flag (``detected``, ``interpolated``, ``user``, ``guided``,
``repaired`` or ``missing``) and the digest of the source frame file; and for the clip: the
source pattern, frame range, image size, a fingerprint of all frames and the
identity of the job that made it. Later stages only read tracks; they never
silently re-detect, and they check the track's digests against the frames they
read (:func:`check_plate`).

An overrides file (``{"format": "dubkernels-overrides", "version": 1,
"frames": {"1005": {"landmarks": [[x, y], ... 68]}}}``) merges on top of a
track and wins; merged frames are flagged ``user`` and their box and pose are
recomputed from the corrected landmarks.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dubkernels.errors import TrackError
from dubkernels.face.pose import estimate_head_pose
from dubkernels.io.files import atomic_write_text, read_json_object

TRACK_FORMAT = "dubkernels-track"
OVERRIDES_FORMAT = "dubkernels-overrides"
TRACK_VERSION = 1
FLAGS = ("detected", "interpolated", "user", "guided", "repaired", "missing")
FAR_OFF = 6.0  # a landmark this many times the median distance from the face centre is not on the face


def stat_key(path: str | os.PathLike[str]) -> tuple[str, int, int, int]:
    """What a remembered digest of a file is keyed by: its real path, size, mtime and inode (a rewrite changes
    one of them)."""
    st = os.stat(path)
    return os.path.realpath(path), st.st_size, st.st_mtime_ns, st.st_ino


def file_digest(path: str | os.PathLike[str]) -> str:
    """BLAKE2b digest (16 bytes, hex) of a file's bytes (remembered while its size and mtime stay)."""
    return _digest(*stat_key(path))


@functools.lru_cache(maxsize=4096)
def _digest(path: str, size: int, mtime_ns: int, inode: int) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def track_digest(path: str | os.PathLike[str]) -> str:
    """Digest of a track's content less the path of the plate it tracked (its frames' fingerprint stays): a track
    made in a moved or copied work folder is the same track."""
    return _track_digest(*stat_key(path))


@functools.lru_cache(maxsize=1024)
def _track_digest(path: str, size: int, mtime_ns: int, inode: int) -> str:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _digest(path, size, mtime_ns, inode)  # not a track: its bytes (reading it will say what is wrong)
    if isinstance(data, dict) and isinstance(data.get("source"), dict):
        data["source"].pop("pattern", None)
    return hashlib.blake2b(json.dumps(data, sort_keys=True).encode(), digest_size=16).hexdigest()


def fingerprint(digests: list[str]) -> str:
    """One digest over the ordered per-frame digests."""
    return hashlib.blake2b("".join(digests).encode(), digest_size=16).hexdigest()


@dataclass
class FrameRecord:
    """Analysis of one frame. Coordinates are plate pixels (display window)."""

    frame: int
    flag: str
    landmarks: np.ndarray | None = None  # (68, 2)
    box: tuple[float, float, float, float] | None = None
    confidence: float = 0.0
    pose: dict | None = None
    digest: str = ""

    @property
    def has_face(self) -> bool:
        return self.landmarks is not None

    def as_dict(self) -> dict:
        return {
            "frame": self.frame,
            "flag": self.flag,
            "confidence": round(float(self.confidence), 4),
            "box": None if self.box is None else [round(float(v), 3) for v in self.box],
            "landmarks": None if self.landmarks is None else np.round(self.landmarks, 3).tolist(),
            "pose": self.pose,
            "digest": self.digest,
        }


@dataclass
class Track:
    """The analysis of one clip."""

    source: str
    width: int
    height: int
    records: list[FrameRecord]
    settings: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    overrides: str | None = None
    job: str | None = None  # identity of the analyze job that wrote it

    @property
    def frames(self) -> list[int]:
        return [r.frame for r in self.records]

    @property
    def fingerprint(self) -> str:
        return fingerprint([r.digest for r in self.records])

    def record(self, frame: int) -> FrameRecord:
        for r in self.records:
            if r.frame == frame:
                return r
        raise TrackError(f"track of {self.source} has no frame {frame} (it covers {self.frame_range_text()}).")

    def frame_range_text(self) -> str:
        from dubkernels.io.sequences import format_frames

        return format_frames(self.frames)

    def landmarks_array(self) -> np.ndarray:
        """(N, 68, 2) landmarks, NaN on frames without a face."""
        out = np.full((len(self.records), 68, 2), np.nan)
        for i, r in enumerate(self.records):
            if r.landmarks is not None:
                out[i] = r.landmarks
        return out

    def counts(self) -> dict[str, int]:
        return {flag: sum(r.flag == flag for r in self.records) for flag in FLAGS}

    def as_dict(self) -> dict:
        return {
            "format": TRACK_FORMAT,
            "version": TRACK_VERSION,
            "source": {"pattern": self.source, "width": self.width, "height": self.height,
                       "frames": self.frame_range_text(), "fingerprint": self.fingerprint},
            "settings": self.settings,
            "notes": self.notes,
            "overrides": self.overrides,
            "job": self.job,
            "records": [r.as_dict() for r in self.records],
        }


def save_track(track: Track, path: str | os.PathLike[str]) -> None:
    """Write ``track`` as JSON, atomically."""
    atomic_write_text(path, json.dumps(track.as_dict(), indent=1))


def _read_json(path: Path, kind: str) -> dict:
    return read_json_object(path, kind, TrackError, "run `dubkernels analyze` to make it, or fix the file")


def _landmarks(value, path: Path, frame) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (68, 2) or not np.isfinite(arr).all():
        raise TrackError(f"{path}: frame {frame} landmarks must be 68 finite [x, y] pairs, got shape {arr.shape}.")
    distance = np.linalg.norm(arr - np.median(arr, axis=0), axis=1)
    typical = float(np.median(distance))
    if typical > 0 and distance.max() > FAR_OFF * typical:
        i = int(distance.argmax())
        raise TrackError(f"{path}: frame {frame} landmark {i} at ({arr[i, 0]:.0f}, {arr[i, 1]:.0f}) is far off the face "
                         f"({distance[i] / typical:.0f}x the typical distance from its centre); fix the point or "
                         "re-run `dubkernels analyze`.")
    return arr


def load_track(path: str | os.PathLike[str]) -> Track:
    """Read a track file, checking its format and version."""
    path = Path(path)
    data = _read_json(path, "track")
    if data.get("format") != TRACK_FORMAT:
        raise TrackError(f"{path}: not a dubkernels track (format {data.get('format')!r}).")
    if data.get("version") != TRACK_VERSION:
        raise TrackError(
            f"{path}: track version {data.get('version')} is not supported (this dubkernels reads "
            f"version {TRACK_VERSION}); re-run `dubkernels analyze`."
        )
    try:
        src = data["source"]
        records = []
        for r in data["records"]:
            if r["flag"] not in FLAGS:
                raise TrackError(f"{path}: frame {r['frame']} has unknown flag {r['flag']!r}.")
            records.append(FrameRecord(
                frame=int(r["frame"]), flag=r["flag"],
                landmarks=None if r["landmarks"] is None else _landmarks(r["landmarks"], path, r["frame"]),
                box=None if r["box"] is None else tuple(r["box"]),
                confidence=float(r["confidence"]), pose=r["pose"], digest=r["digest"],
            ))
        track = Track(src["pattern"], int(src["width"]), int(src["height"]), records,
                      data.get("settings", {}), data.get("notes", []), data.get("overrides"), data.get("job"))
    except (KeyError, TypeError, ValueError) as exc:
        raise TrackError(f"{path}: malformed track ({exc!r}); re-run `dubkernels analyze`.") from exc
    if track.fingerprint != src.get("fingerprint"):
        raise TrackError(f"{path}: fingerprint does not match its frame records; the file was edited or damaged.")
    return track


def box_from_landmarks(landmarks: np.ndarray) -> tuple[float, float, float, float]:
    """A face box that encloses the landmarks."""
    x0, y0 = landmarks.min(axis=0)
    x1, y1 = landmarks.max(axis=0)
    return (float(x0), float(y0), float(x1), float(y1))


def merge_overrides(track: Track, path: str | os.PathLike[str]) -> Track:
    """Apply a user-overrides file on top of ``track`` (overrides win)."""
    path = Path(path)
    data = _read_json(path, "overrides")
    if data.get("format") != OVERRIDES_FORMAT or data.get("version") != 1:
        raise TrackError(
            f"{path}: expected format '{OVERRIDES_FORMAT}' version 1, got {data.get('format')!r} "
            f"version {data.get('version')!r}."
        )
    frames = data.get("frames")
    if not isinstance(frames, dict):
        raise TrackError(f"{path}: 'frames' must map frame numbers to {{\"landmarks\": [...]}}.")
    by_frame = {r.frame: r for r in track.records}
    for key, value in frames.items():
        try:
            number = int(key)
        except ValueError as exc:
            raise TrackError(f"{path}: '{key}' is not a frame number.") from exc
        if number not in by_frame:
            raise TrackError(
                f"{path}: frame {number} is outside the track of {track.source} ({track.frame_range_text()})."
            )
        if not isinstance(value, dict) or "landmarks" not in value:
            raise TrackError(f"{path}: frame {number} needs a 'landmarks' list of 68 [x, y] pairs.")
        landmarks = _landmarks(value["landmarks"], path, number)
        rec = by_frame[number]
        rec.landmarks, rec.flag, rec.confidence = landmarks, "user", 1.0
        rec.box = box_from_landmarks(landmarks)
        rec.pose = estimate_head_pose(landmarks, track.width, track.height).as_dict()
    track.overrides = str(path)
    return track


def save_landmarks(path: str | os.PathLike[str], landmarks: dict[int, np.ndarray], source: str) -> None:
    """Write known landmarks per frame (overrides format: a guide for ``analyze``), atomically.

    An existing file that is not such a landmarks file is never replaced.
    """
    path = Path(path)
    if path.exists():
        try:
            ours = json.loads(path.read_text(encoding="utf-8")).get("format") == OVERRIDES_FORMAT
        except (ValueError, AttributeError, UnicodeDecodeError, OSError):
            ours = False
        if not ours:
            raise TrackError(f"{path} exists and is not a landmarks file dubkernels wrote; choose another path.")
    frames = {str(f): {"landmarks": np.round(lm, 3).tolist()} for f, lm in sorted(landmarks.items())}
    atomic_write_text(path, json.dumps({"format": OVERRIDES_FORMAT, "version": 1, "source": source,
                                        "frames": frames}) + "\n")


def load_guide(path: str | os.PathLike[str]) -> dict[int, np.ndarray]:
    """Known landmarks per frame from a track or an overrides-format file (PoseAlign's ``landmarks`` output)."""
    path = Path(path)
    data = _read_json(path, "guide")
    if data.get("format") == TRACK_FORMAT:
        return {r.frame: r.landmarks for r in load_track(path).records if r.landmarks is not None}
    if data.get("format") != OVERRIDES_FORMAT or not isinstance(data.get("frames"), dict):
        raise TrackError(f"{path}: a guide is a track or a landmarks file (format '{OVERRIDES_FORMAT}'), "
                         f"not {data.get('format')!r}.")
    try:
        return {int(k): _landmarks(v["landmarks"], path, k) for k, v in data["frames"].items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise TrackError(f"{path}: malformed landmarks file ({exc!r}).") from exc


def check_plate(track: Track, paths: dict[int, Path], what: str) -> list[str]:
    """Compare a track's frame digests with the plate files it is used with.

    A track none of whose checked frames match is foreign: refused. Some frames changed since the
    analysis: a warning naming them (returned as a note).
    """
    from dubkernels.io.sequences import format_frames

    from dubkernels.io.frames import read_spec

    by_frame = {r.frame: r.digest for r in track.records}
    checked = {f: p for f, p in paths.items() if by_frame.get(f) and p.is_file()}
    for frame, path in list(checked.items())[:1]:
        spec = read_spec(path, frame)
        if (spec.full_width, spec.full_height) != (track.width, track.height):
            raise TrackError(f"{what}: {path} is {spec.full_width}x{spec.full_height} but its track was made at "
                             f"{track.width}x{track.height}; analyze the plate at the resolution you process.")
    changed = sorted(f for f, p in checked.items() if file_digest(p) != by_frame[f])
    if checked and len(changed) == len(checked):
        raise TrackError(
            f"{what}: the track was made from {track.source}, not from these frames ({format_frames(changed)} all "
            "differ); analyze this plate with `dubkernels analyze` and give its own track.")
    if changed:
        return [f"{what}: frames {format_frames(changed)} changed since the track was made (stale track); "
                "re-run `dubkernels analyze` on them"]
    return []
