"""The parameters of every job kind, as plain dataclasses (no torch, dlib or OpenImageIO here).

Field metadata drives the CLI, ``dubkernels describe --json`` (what the Nuke knobs are
built from) and the checks in :func:`parse_params`:

- ``help``: one line for the user;
- ``min`` / ``max``: the accepted range (inclusive);
- ``choices``: the accepted values of a text parameter;
- ``nargs``: a tuple parameter's length (e.g. a point: 2);
- ``identity=False``: the value does not change the result (worker counts, time budgets),
  so it is left out of the job identity.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from dubkernels.jobs.spec import JobError

DEVICE_NAME = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
DEFAULT_VIDEO_COLOURSPACE = "sRGB Encoded Rec.709 (sRGB)"


def param(default: Any, help: str, **meta: Any) -> Any:
    """A dataclass field with its help text and checks in the metadata."""
    return field(default=default, metadata={"help": help, **meta})


def check_device_name(stage: str, name: str) -> None:
    """The device's name only: a CPU workstation may write a job for a GPU farm node."""
    if not DEVICE_NAME.match(name):
        raise JobError(f"{stage}: device {name!r} is not a torch device; use auto, cpu, cuda or cuda:N.")


@dataclass
class IngestParams:
    colourspace: str = param(DEFAULT_VIDEO_COLOURSPACE, "OCIO colourspace of the clip's pixels")
    start: int = param(1001, "frame number of the clip's first frame")
    replace_ingested: bool = param(False, "replace frames dubkernels ingested from another clip (a dub's own copy "
                                          "of its take, when the shot file names a new one); others are never "
                                          "replaced without --force")


@dataclass
class LineParams:
    dubber_offset: int = param(0, "dubber frames before the one shown at the actor's first frame (as PoseAlign's)",
                               min=-1000000, max=1000000)
    audio_offset: float = param(0.0, "seconds into the sound file where the dubber take's first frame is (0 for a "
                                     "video's own sound)", min=-86400.0, max=86400.0)


@dataclass
class AnalyzeParams:
    detector: str = param("hog", "dlib HOG (fast) or CNN (robust, slow)", choices=("hog", "cnn"))
    detect_size: int = param(640, "longer side of the frame for face detection", min=64, max=8192)
    max_gap: int = param(5, "fill up to this many faceless frames by interpolation", min=0, max=10000)
    passthrough_missing: bool = param(False, "flag longer faceless runs as missing instead of failing")
    face_hint: tuple = param((), "plate point X Y on the face to keep when there are several", nargs=2)
    colourspace: str = param("", "colourspace of the plate (default: the config's scene_linear role)")
    guide_frames_only: bool = param(False, "with a guide: analyze only the frames it covers (a dubbed line "
                                           "shorter than the shot)")
    guide_tolerance: float = param(0.2, "with a guide: detections whose landmarks stray further than this (mean, "
                                        "fraction of the interocular distance) use the guide's", min=0.0, max=10.0)
    face_jump: float = param(0.1, "without a guide: a fit whose eyes, brows and nose sit further than this "
                                  "(interocular distances) off the path of the frames around is taken as lost by "
                                  "dlib and gets their landmarks (flag repaired); 0: off", min=0.0, max=10.0)
    mouth_jump: float = param(0.08, "without a guide: a mouth further than this (interocular distances, on the face) "
                                    "from where the frames around put it is taken as lost by dlib and gets their "
                                    "mouth (flag repaired); 0: off", min=0.0, max=10.0)


@dataclass
class TrainParams:
    config: str = param("preview", "network preset (paper, preview) or a JSON config file")
    iterations: int = param(0, "train to this many iterations (0: the config's); more on the same run goes on "
                               "training", min=0, max=10_000_000, identity=False)
    seed: int = param(0, "random seed")
    workers: int = param(-1, "data-loading processes (0: in the main process; -1: a quarter of the cores, at most 4)",
                         min=-1, max=64, identity=False)
    device: str = param("auto", "auto (CUDA if present, else CPU), cpu, cuda, cuda:1...")
    minutes: float = param(0.0, "stop after this many minutes with a checkpoint (0: no limit); a rerun goes on",
                           min=0.0, max=1e6, identity=False)
    cpu_seconds_per_frame: float = param(1.5, "a preset trained on a CPU with neither iterations nor minutes set "
                                              "stops after this many seconds per frame of the actor's shot (its "
                                              "iterations are planned for a GPU; 0: no limit)",
                                         min=0.0, max=1e4, identity=False)

    def check(self, stage: str) -> None:
        check_device_name(stage, self.device)


@dataclass
class TrainSRParams(TrainParams):
    config: str = param("face_sr_preview", "FaceSR preset (face_sr_paper, face_sr_preview) or a JSON config file")


@dataclass
class PoseAlignParams:
    dubber_offset: int = param(0, "dubber frames to skip at the start of the dubber take (its first frame "
                                  "matched to the actor's first)")
    retime: bool = param(True, "map dubber frames by time when the takes' frame rates differ (off: refuse)")
    smooth: int = param(5, "frames in the moving average of mesh vertices (1 = off)", min=1, max=99)
    colour_transfer: bool = param(True, "Reinhard colour transfer dubber -> actor")
    stat_frames: int = param(16, "frames sampled over the shot for the colour statistics (their median)", min=1, max=100000)
    dubber_colourspace: str = param("", "colourspace of the dubber plate (default: working space)")

    def check(self, stage: str) -> None:
        if self.smooth % 2 == 0:
            raise JobError(f"{stage}: smooth={self.smooth} must be an odd number of frames >= 1 (the paper uses 5).")


@dataclass
class FaceSRParams:
    device: str = param("cpu", "torch device for inference (cpu, cuda, cuda:N, auto)")
    batch: int = param(8, "frames per network call", min=1, max=1024, identity=False)

    def check(self, stage: str) -> None:
        check_device_name(stage, self.device)


@dataclass
class OwnMouthParams:
    """How the actor's own mouth frames are chosen over the shot, and how far they are warped."""

    jump_cost: float = param(0.05, "cost of cutting to an actor frame other than the next one, in interocular "
                                   "distances of mouth shape (higher: longer runs of the actor's own motion)",
                             min=0.0, max=10.0)
    cut_disagreement: float = param(1.0, "extra cost of a cut per interocular distance between the mouth cut to and "
                                         "the one the run would have shown (higher: cuts only where mouths agree)",
                                    min=0.0, max=100.0)
    hold_cost: float = param(0.02, "cost of showing the same actor frame again (a still mouth)", min=0.0, max=10.0)
    closure_weight: float = param(1.0, "cost per interocular distance of lip gap to close (or open) where the "
                                       "actor frame's lips disagree with the dubber's", min=0.0, max=100.0)
    motion_weight: float = param(2.0, "cost per interocular distance between a run's (or a hold's) frame-to-frame "
                                      "mouth movement and the dubber's (higher: the mouth rests where the dubber's "
                                      "rests and moves where it moves)", min=0.0, max=100.0)
    pose_weight: float = param(0.1, "weight of the head-pose difference (yaw, pitch in radians) against mouth "
                                    "shape", min=0.0, max=10.0)
    max_distance: float = param(0.08, "frames whose chosen actor mouth is further than this (interocular "
                                      "distances) are named: the take lacks that shape", min=0.0, max=10.0)
    follow: float = param(0.5, "how far the chosen mouth is warped toward the dubber's shape (0: the actor "
                               "frame's own shape; 1: the dubber's; between: part-way, the lips stretched)",
                          min=0.0, max=1.0)
    closures: bool = param(True, "close the lips where the dubber's meet and part them where the dubber's part, "
                                 "whatever the chosen frame shows")
    steady: int = param(7, "frames over which the actor's landmarks are smoothed for the warp (no lag; under 3: "
                           "as tracked): the texture moves with the face, not with the detector's noise",
                        min=0, max=25)
    target_cutoff: float = param(2.0, "Hz: the dubber's mouth shape is smoothed with a zero-lag 1 Euro filter of "
                                      "this cutoff where the lips rest (0: as tracked)", min=0.0, max=30.0)
    target_beta: float = param(20.0, "the filter's cutoff rise per interocular distance per second of lip speed "
                                    "(higher: fast lip moves kept sharper)", min=0.0, max=1000.0)
    chin: bool = param(True, "draw the plate below the jaw redrawn to meet the drawn jaw, so that a composite may "
                             "take the chin with the mouth (a dub then measures the own mouth both ways, with the "
                             "plate's chin and with the drawn one, and delivers the better; off: only the plate's "
                             "chin, a little faster)")
    overrides: str = param("", "the artist's say per frame range, entries separated by ';': 'FRAMES: close' (lips "
                               "shut), 'FRAMES: source N' (actor frames N, N+1, ... shown there), 'FRAMES: forbid "
                               "A-B' (never those actor frames), 'FRAMES: opening X' (the opening scaled by X)")
    match_blur: bool = param(True, "blur the chosen actor frame where this frame's plate is softer around the lips "
                                   "(a fast head turn's motion blur, a focus pull)")
    register: bool = param(True, "draw the face again where its nose meets the plate's, where the two lie more than "
                                 "a pixel apart (the landmarks it was drawn onto can sit a few pixels off, on a "
                                 "blurred head turn up to ten)")
    blend_frames: int = param(4, "frames over which a cut between two runs of actor frames is morphed along the "
                                 "motion (optical flow); under 2: a plain cut", min=0, max=24)


@dataclass
class IdentitySwapParams:
    mask_grow: float = param(0.0, "face mask growth, fraction of the IOD", min=-0.5, max=2.0)
    mask_feather: float = param(0.08, "face mask feather, fraction of the IOD", min=0.0, max=1.0)
    device: str = param("cpu", "torch device for inference (cpu, cuda, cuda:N, auto)")
    batch: int = param(8, "frames per network call", min=1, max=1024, identity=False)

    def check(self, stage: str) -> None:
        check_device_name(stage, self.device)


@dataclass
class StabilizeParams:
    min_cutoff: float = param(1.0, "Hz, cutoff of a still face (lower: steadier, more lag)", min=1e-6, max=1000.0)
    beta: float = param(0.5, "cutoff rise per face size per second of speed (higher: less lag)", min=0.0, max=1e6)
    d_cutoff: float = param(1.0, "Hz, cutoff of the speed estimate", min=1e-6, max=1000.0)
    fps: float = param(0.0, "frame rate; 0 reads FramesPerSecond from the first frame", min=0.0, max=1000.0)
    zero_lag: bool = param(True, "average forward and backward passes (off: the causal filter)")


@dataclass
class MouthCompositeParams:
    """Mask size and blending of the composite."""

    grow: float = param(0.15, "mask growth, fraction of the IOD (negative shrinks)", min=-0.5, max=2.0)
    feather: float = param(0.1, "Gaussian sigma of the mask edge, fraction of the IOD", min=0.0, max=1.0)
    blend: str = param("linear", "linear or poisson (cv2.seamlessClone)", choices=("linear", "poisson"))
    colour_match: bool = param(False, "match the face to the plate on a ring around the mouth")
    ring: float = param(0.3, "width of the colour-match ring, fraction of the IOD", min=0.01, max=2.0)
    uncovered: str = param("error", "actor frames the face layer does not cover: error, or copy the plate "
                                    "unchanged (a dubbed line shorter than the shot)", choices=("error", "copy"))
    chin: bool = param(False, "take the chin too, down to the jaw line (for a face layer whose jaw moves with its "
                              "mouth, e.g. the actor's own mouth)")
    jaw_margin: float = param(0.08, "without the chin: the mask keeps this far inside both faces' jaw lines, "
                                    "fraction of the IOD (a moved jaw edge never shows against hair or background; "
                                    "0: no limit)", min=0.0, max=1.0)
    extent: str = param("plate", "what the output covers: plate (every pixel of A0, the shot) or face (only "
                                 "the region around the face: an intermediate pass, no whole-plate write)",
                        choices=("plate", "face"))


def _convert(key: str, value: Any, default: Any, meta: dict[str, Any], stage: str) -> Any:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise JobError(f"{stage}: parameter {key}={value!r} should be true or false.")
        return text in ("1", "true", "yes", "on")
    if isinstance(default, tuple):
        items = value.replace(",", " ").split() if isinstance(value, str) else list(value or ())
        converted = tuple(float(v) for v in items)
        if converted and len(converted) != meta.get("nargs", len(converted)):
            raise JobError(f"{stage}: parameter {key}={value!r} needs {meta['nargs']} numbers.")
        return converted
    if isinstance(default, int) and isinstance(value, float) and not value.is_integer():
        raise ValueError(value)
    return type(default)(value)


def parse_params(cls: type, values: dict[str, Any], stage: str) -> Any:
    """Build a Params dataclass from job values: converted to each field's type, ranges and choices checked."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise JobError(f"{stage}: unknown parameters {unknown}; it takes {sorted(fields)}.")
    converted: dict[str, Any] = {}
    for key, value in values.items():
        f = fields[key]
        try:
            converted[key] = _convert(key, value, f.default, dict(f.metadata), stage)
        except (TypeError, ValueError) as exc:
            raise JobError(f"{stage}: parameter {key}={value!r} should be a {type(f.default).__name__}.") from exc
        meta = f.metadata
        number = converted[key]
        if "choices" in meta and number not in meta["choices"]:
            raise JobError(f"{stage}: {key}={number!r} is unknown; use one of {', '.join(meta['choices'])}.")
        low, high = meta.get("min"), meta.get("max")
        if (low is not None and number < low) or (high is not None and number > high):
            raise JobError(f"{stage}: {key}={number} is out of range; use {low} to {high}.")
    params = cls(**converted)
    check = getattr(params, "check", None)
    if check:
        check(stage)
    return params


def identity_values(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """The parameters that change a job's result: every field but ``identity=False`` ones, given or default
    (a default changed by a new version reruns what it made)."""
    out = {}
    for f in dataclasses.fields(cls):
        if f.metadata.get("identity", True):
            given = f.name in values
            value = _convert(f.name, values[f.name], f.default, dict(f.metadata), "") if given else f.default
            out[f.name] = list(value) if isinstance(value, tuple) else value  # as a state record reads back
    return out
