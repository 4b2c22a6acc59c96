"""Per-frame and summary metrics of a dub: the baselines (paste, own mouth), pass 1 and pass 2 against A0
and the dubber.

Read from the dub's work folder (``files.json`` names every sequence and track). For each
result: localisation (pixels outside its mask that differ from A0, all channels and parts),
lip sync (mouth opening r against the dubber's aligned render, LMD), identity (dlib 128-D
distance to the actor and to the dubber on sampled frames), fidelity (PSNR and SSIM against
A0 on the whole frame and the mouth box, the sharpness of the skin around the lips against A0's), temporal (mouth
jitter against the dubber's, mouth-box flicker against A0's).

Whole-frame PSNR and SSIM use that only the mask region changes: errors are summed over the
changed region (grown by the SSIM window) and divided by the whole frame, which equals the
full computation whenever localisation holds (checked per frame; otherwise it is computed in full).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import numpy as np
from skimage.metrics import structural_similarity

from dubkernels.colour import ColourSpaces, colour_spaces, to_uint8
from dubkernels.errors import DubKernelsError
from dubkernels.face.landmarks68 import MOUTH
from dubkernels.io.files import read_json_object
from dubkernels.io.frames import Frame, read_frame
from dubkernels.jobs.spec import expand_roots
from dubkernels.jobs.summary import stage_warnings
from dubkernels.metrics.perceptual import PerceptualModels, frechet_distance
from dubkernels.io.sequences import output_sequence, resolve_sequence
from dubkernels.preview import plate_fps
from dubkernels.report.line import line_checks, line_envelope, line_under, take_reference
from dubkernels.metrics import image as im
from dubkernels.metrics import lipsync
from dubkernels.metrics.face_identity import descriptor, distance
from dubkernels.tracks import Track, load_track

RESULTS = ("paste", "own", "own_chin", "pass1", "pass2")
LABELS = {"paste": "paste (no network)", "own": "own mouth (no training)", "own_chin": "own mouth + chin",
          "pass1": "pass 1", "pass2": "pass 2"}
MOUTH_BOX_IOD = 1.3  # side of the mouth box, in interocular distances
LIP_MARGIN_IOD = 0.1  # the skin whose sharpness is measured keeps this far from either mouth's lips
SSIM_REACH = 7  # a 7x7 window reaching a change (3 px) must sit wholly inside the region (3 px more), plus one
IDENTITY_SAMPLES = 16
NOISY_SHARE = 0.5  # re-detection noise above this share of the dubber's movement makes a sync figure unreliable


class ReportError(DubKernelsError):
    """The work folder lacks what the report reads."""


@dataclass
class ShotMetrics:
    """Everything the report shows: per-frame curves and the summary table."""

    frames: list[int]
    curves: dict[str, list[float]] = field(default_factory=dict)  # name -> per-frame values (NaN: none)
    summary: dict[str, dict[str, Any]] = field(default_factory=dict)  # result -> metric -> value
    references: dict[str, Any] = field(default_factory=dict)  # actor / dubber own figures
    notes: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=lambda: list(RESULTS))  # the results measured, in RESULTS' order
    delivery: dict[str, Any] = field(default_factory=dict)  # the candidate delivered and the bar (report/bar.py)
    av: dict[str, dict[str, Any]] = field(default_factory=dict)  # the line's A/V check: dubber and each result
    quick_look: bool = False  # nothing delivered yet: a quick look, or a candidate of the shot not yet made

    def as_dict(self) -> dict[str, Any]:
        def clean(value: Any) -> Any:
            if isinstance(value, float) and not math.isfinite(value):
                return None
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, list):
                return [clean(v) for v in value]
            return value

        return {"format": "dubkernels-report", "version": 1, "frames": self.frames,
                "summary": clean(self.summary), "references": clean(self.references),
                "curves": clean(self.curves), "notes": self.notes, "results": self.results,
                "delivery": clean(self.delivery), "av": clean(self.av)}


def present_results(files: dict[str, str]) -> list[str]:
    """The results a work folder holds (a quick look has only the baselines), in RESULTS' order."""
    present = [n for n in RESULTS if n in files and Path(files.get(f"{n}_track", "")).is_file()]
    if not present:
        raise ReportError("the work folder holds no finished result (no result's track); run `dubkernels dub` "
                          "to the end, or `dub --quick` for the baselines.")
    return present


def load_manifest(work: Path) -> dict[str, Any]:
    """The work folder's ``files.json`` (written by `dubkernels dub`), checked: a clear error when it is missing or
    damaged."""
    path = work / "files.json"
    if not path.is_file():
        raise ReportError(f"{path} not found: {work} is not a dub work folder; run `dubkernels dub` first.")
    fix = "run `dubkernels dub` on the shot file again to write it"
    data = read_json_object(path, "manifest", ReportError, fix)
    if not isinstance(data.get("files"), dict) or not all(isinstance(v, str) for v in data["files"].values()):
        raise ReportError(f"{path}: \"files\" is not an object of paths (the file is damaged); {fix}.")
    data["files"] = {key: str(work / expand_roots(value, str(path)))  # relative: to the work folder
                     for key, value in data["files"].items()}
    return data


def load_files(work: Path) -> dict[str, str]:
    """The work folder's manifest of sequences and tracks (written by `dubkernels dub`)."""
    return dict(load_manifest(work)["files"])


def _track(files: dict[str, str], key: str) -> Track:
    path = files.get(key)
    if not path or not Path(path).is_file():
        raise ReportError(f"the {key.replace('_', ' ')} ({path}) is missing; run the dub up to its end first.")
    return load_track(path)


def _landmarks(track: Track, frames: list[int]) -> np.ndarray:
    by_frame = {r.frame: r.landmarks for r in track.records}
    out = np.full((len(frames), 68, 2), np.nan)
    for i, f in enumerate(frames):
        lm = by_frame.get(f)
        if lm is not None:
            out[i] = lm
    return out


def _frame(pattern: str, frame: int) -> Frame:
    return read_frame(output_sequence(pattern, [frame]).path(frame), frame)


def mouth_box(landmarks: np.ndarray, size: int, width: int, height: int) -> tuple[int, int, int, int]:
    """A ``size`` square (x0, y0, x1, y1) centred on the mouth, inside the frame."""
    cx, cy = landmarks[list(MOUTH)].mean(axis=0)
    x0 = int(np.clip(round(cx - size / 2), 0, max(width - size, 0)))
    y0 = int(np.clip(round(cy - size / 2), 0, max(height - size, 0)))
    return x0, y0, min(x0 + size, width), min(y0 + size, height)


def _mask_box(mask: Frame, width: int, height: int) -> tuple[int, int, int, int]:
    w = mask.data_window
    return (max(w.x - SSIM_REACH, 0), max(w.y - SSIM_REACH, 0), min(w.x_end + SSIM_REACH, width),
            min(w.y_end + SSIM_REACH, height))


Box = tuple[int, int, int, int]  # x0, y0, x1, y1


def union(a: Box, b: Box | None) -> Box:
    """The smallest box holding both."""
    if b is None:
        return a
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def inside(box: Box, region: Box) -> tuple[slice, slice]:
    """Rows and columns of ``box`` in an array covering ``region``."""
    return slice(box[1] - region[1], box[3] - region[1]), slice(box[0] - region[0], box[2] - region[0])


def whole_frame_fidelity(a0: np.ndarray, result: np.ndarray, height: int, width: int) -> tuple[float, float]:
    """(PSNR, SSIM) over a ``width`` x ``height`` frame, given the region of it that may differ (network space).

    Outside the region the frames are identical: no error, and SSIM 1 at every 7x7 window position that
    does not reach into the changes (the region is grown by the window's reach). SSIM is the mean over the
    frame's window positions, 3 pixels in from its edges, as scikit-image computes it. A region that is the
    whole frame is computed as it is.
    """
    a, r = np.clip(a0, 0, 1), np.clip(result, 0, 1)
    mse = float(np.sum((a.astype(np.float64) - r) ** 2)) / (height * width * 3)
    psnr = float("inf") if mse == 0 else 10.0 * math.log10(1.0 / mse)
    if a.shape[:2] == (height, width):
        return psnr, im.ssim(a, r)
    if min(a.shape[:2]) < 7:
        return psnr, float("nan")
    _, smap = structural_similarity(im.luma(a), im.luma(r), data_range=1.0, full=True)
    inner = smap[3:-3, 3:-3]  # window positions wholly inside the region
    positions = (height - 6) * (width - 6)
    return psnr, float((inner.sum() + (positions - inner.size)) / positions)


class _Reader:
    """Frames (or a region of them) in network space (sRGB-encoded, 0..1), as a viewer shows them."""

    def __init__(self, colour: ColourSpaces):
        self.colour = colour

    def network(self, frame: Frame | np.ndarray, region: Box | None = None) -> np.ndarray:
        linear = frame.display_rgb() if isinstance(frame, Frame) else frame
        if region is not None:
            linear = linear[region[1] : region[3], region[0] : region[2]]
        return np.clip(self.colour.to_network(linear), 0.0, 1.0)


def collect(work: Path, ocio: str | None = None, progress: Callable[[int], None] | None = None,
            on_total: Callable[[int], None] | None = None, perceptual: PerceptualModels | None = None) -> ShotMetrics:
    """Measure the dub in ``work`` frame by frame (frames stream: nothing holds the shot in memory).

    ``perceptual`` adds LPIPS and FID of the mouth boxes against A0's (each when its model is given).
    """
    files = load_files(work)
    colour = colour_spaces(ocio)
    reader = _Reader(colour)
    actor_track = _track(files, "actor_track")
    results = present_results(files)
    final_track = _track(files, f"{results[-1]}_track")  # the delivered shot, or the last baseline of a quick look
    dubber_track = _track(files, "dubber_render_track")
    frames = [f for f in final_track.frames if f in set(actor_track.frames) & set(dubber_track.frames)]
    if not frames:
        raise ReportError("the final shot's track shares no frame with the actor's and the dubber render's.")
    tracks = {"actor": actor_track, "dubber": dubber_track,
              **{name: _track(files, f"{name}_track") for name in results}}
    landmarks = {name: _landmarks(t, frames) for name, t in tracks.items()}
    metrics = ShotMetrics(frames, results=results)
    metrics.notes += [f"{LABELS[name]}: not measured: its track {files[f'{name}_track']} is missing (the dub stopped "
                      "before it); run `dubkernels dub` to the end, then the report again"
                      for name in RESULTS if name in files and name not in results and f"{name}_track" in files]
    if "own" in results and files.get("own_face"):  # what the own mouth could not reach, frame by frame
        metrics.notes += [f"{LABELS['own']}: {warning}" for warning in stage_warnings(files["own_face"])]
    openings = {name: lipsync.mouth_opening(lm) for name, lm in landmarks.items()}
    metrics.curves.update({f"opening_{k}": v.tolist() for k, v in openings.items()})
    truth = _truth_curve(files, frames)
    if truth is not None:
        metrics.curves["opening_truth"] = truth.tolist()
    _line(work, files, frames, {k: openings[k] for k in ["dubber", *results]}, metrics)
    metrics.references = {"actor_dubber_r": lipsync.pearson(openings["actor"], openings["dubber"]),
                          "dubber_jitter": lipsync.jitter(landmarks["dubber"])}
    iod = float(np.nanmedian(lipsync.interoculars(landmarks["actor"])))
    size = max(16, int(round(MOUTH_BOX_IOD * iod)))
    per_frame: dict[str, dict[str, list[float]]] = {n: {k: [] for k in ("changed", "psnr", "ssim", "mouth_psnr",
                                                                         "mouth_ssim", "sharpness", "box_sharpness",
                                                                         "a0_sharpness", "undubbed")}
                                                 for n in results}
    boxes: dict[str, list[np.ndarray]] = {n: [] for n in ["actor", *results]}
    a0_sharp: list[float] = []
    boxed: list[int] = []  # the frame indices the mouth boxes are of
    if on_total:
        on_total(len(frames))
    for i, f in enumerate(frames):
        a0 = _frame(files["actor"], f)
        a0_linear = a0.display_rgb()
        h, w = a0_linear.shape[:2]
        ref = landmarks["actor"][i]
        box = mouth_box(ref, size, w, h) if np.isfinite(ref).all() else None
        if box:
            a0_mouth = reader.network(a0_linear, box)  # a copy: no view keeps the whole frame alive
            boxes["actor"].append(a0_mouth)
            boxed.append(i)
            a0_sharp.append(im.sharpness(a0_mouth))
        for name in results:
            out = _frame(files[name], f)
            mask = _frame(files[f"{name}_mask"], f)
            changed = im.changed_outside(a0, out, mask)
            region = union(_mask_box(mask, w, h), box) if changed == 0 else (0, 0, w, h)
            a0_net, out_net = reader.network(a0_linear, region), reader.network(out, region)
            psnr, ssim = whole_frame_fidelity(a0_net, out_net, h, w)
            values = per_frame[name]
            values["changed"].append(changed)
            values["psnr"].append(psnr)
            values["ssim"].append(ssim)
            if box:
                rows, cols = inside(box, region)
                crop = out_net[rows, cols].copy()
                boxes[name].append(crop)
                values["mouth_psnr"].append(im.psnr(a0_net[rows, cols], crop))
                values["mouth_ssim"].append(im.ssim(a0_net[rows, cols], crop))
                skin = im.skin_around_lips((box[2] - box[0], box[3] - box[1]), box[:2],
                                           [ref[48:60], landmarks[name][i][48:60]], LIP_MARGIN_IOD * iod)
                values["sharpness"].append(im.sharpness(crop, skin))
                values["a0_sharpness"].append(im.sharpness(a0_mouth, skin))
                values["box_sharpness"].append(im.sharpness(crop))
                values["undubbed"].append(float(np.array_equal(a0_net[rows, cols], crop)))  # the plate's own mouth
            else:
                for key in ("mouth_psnr", "mouth_ssim", "sharpness", "a0_sharpness", "box_sharpness"):
                    values[key].append(float("nan"))
        if progress:
            progress(1)
    identity = _identity(files, tracks, frames, reader, metrics)
    still = lipsync.still_steps(landmarks["dubber"][boxed]) & (np.diff(boxed) == 1)  # the dubber's lips at rest
    a0_flicker, a0_flicker_all = im.flicker(boxes["actor"], still), im.flicker(boxes["actor"])
    metrics.references.update({"actor_flicker": a0_flicker, "actor_sharpness": _mean(a0_sharp)})
    dubber_spread = float(np.nanstd(openings["dubber"]))
    for name in results:
        values = per_frame[name]
        lmd = lipsync.lmd(landmarks[name], landmarks["dubber"])
        sync = _sync(name, landmarks, openings, dubber_spread, metrics)
        metrics.curves[f"lmd_{name}"] = lmd.tolist()
        metrics.curves[f"mouth_psnr_{name}"] = values["mouth_psnr"]
        metrics.curves[f"jump_{name}"] = (_step_changes(boxes[name], boxed, len(frames))
                                          - _step_changes(boxes["actor"], boxed, len(frames))).tolist()
        flick, flick_all = im.flicker(boxes[name], still), im.flicker(boxes[name])
        metrics.summary[name] = {
            "changed_outside_mask": int(np.sum(values["changed"])),
            "frames_with_changes_outside": int(np.count_nonzero(values["changed"])),
            **sync,
            "r_vs_actor": lipsync.pearson(openings[name], openings["actor"]),
            "r_vs_truth": lipsync.pearson(openings[name], truth) if truth is not None else None,
            "lmd": _mean(lmd), "lmd_movement": _mean(lipsync.lmd_movement(landmarks[name], landmarks["dubber"])),
            "psnr": _mean(values["psnr"]), "ssim": _mean(values["ssim"]),
            "mouth_psnr": _mean(values["mouth_psnr"]), "mouth_ssim": _mean(values["mouth_ssim"]),
            "sharpness_vs_actor": _mean(values["sharpness"]) / max(_mean(values["a0_sharpness"]), 1e-12),
            "box_sharpness_vs_actor": _mean(values["box_sharpness"]) / max(_mean(a0_sharp), 1e-12),
            "jitter": lipsync.jitter(landmarks[name]),
            "jitter_vs_dubber": lipsync.jitter(landmarks[name]) / max(metrics.references["dubber_jitter"], 1e-12),
            "flicker": flick, "flicker_vs_actor": flick / max(a0_flicker, 1e-12),
            "flicker_all_vs_actor": flick_all / max(a0_flicker_all, 1e-12),
            "frames_without_face": int(np.count_nonzero(~np.isfinite(landmarks[name]).all(axis=(1, 2)))),
            "frames_undubbed": int(np.sum(values["undubbed"])),
            **identity.get(name, {}),
            **_perceptual(perceptual, boxes["actor"], boxes[name]),
        }
    return metrics


def _step_changes(boxes: list[np.ndarray], boxed: list[int], count: int) -> np.ndarray:
    """(count,) each frame's mouth-box change from the frame before (mean absolute difference, network space);
    NaN where either has no box."""
    out = np.full(count, np.nan)
    for k in range(1, len(boxed)):
        if boxed[k] == boxed[k - 1] + 1:
            out[boxed[k]] = float(np.abs(boxes[k].astype(np.float64) - boxes[k - 1]).mean())
    return out


def _line(work: Path, files: dict[str, str], frames: list[int], openings: dict[str, np.ndarray],
          metrics: ShotMetrics) -> None:
    """The line's speech envelope (a curve) and its A/V check on the dubber's aligned mouth, each result's and
    the dubber take's own (``dubber_take``, the reference), or a note that the dub has no line."""
    fps = plate_fps(resolve_sequence(files["actor"], frames[:1]), Fraction(25))
    sound, note = line_under(files, frames, float(fps))
    if sound is None:
        metrics.notes.append(f"sound: {note}")
        return
    envelope = line_envelope(sound, float(fps), frames)
    metrics.av = {name: check.as_dict() for name, check in line_checks(envelope, openings, float(fps)).items()}
    reference = take_reference(work, files, float(fps))
    if reference is not None:
        metrics.av["dubber_take"] = reference.as_dict()
    metrics.curves["speech_envelope"] = envelope.tolist()


def _sync(name: str, landmarks: dict[str, np.ndarray], openings: dict[str, np.ndarray], dubber_spread: float,
          metrics: ShotMetrics) -> dict[str, Any]:
    """Sync of a result with the dubber render on the whole mouth: opening r, mouth-shape r, closures honoured,
    best lag; the per-frame shape and closure curves; a note where re-detection is noisier than the movement."""
    opening, dubber = openings[name], openings["dubber"]
    closure = lipsync.closure_agreement(opening, dubber)
    lag, lag_r = lipsync.best_lag(opening, dubber)
    noise = lipsync.detection_noise(opening)
    metrics.curves[f"shape_{name}"] = lipsync.shape_curve(landmarks[name], landmarks["dubber"]).tolist()
    if "shape_dubber" not in metrics.curves:
        metrics.curves["shape_dubber"] = lipsync.shape_curve(landmarks["dubber"], landmarks["dubber"]).tolist()
        metrics.curves["closure_dubber"] = lipsync.closure_states(dubber).astype(float).tolist()
    noisy = bool(np.isfinite(noise) and dubber_spread > 0 and noise > NOISY_SHARE * dubber_spread)
    if noisy:
        metrics.notes.append(
            f"{LABELS[name]}: dlib's re-detection of its mouth wobbles {noise:.3f} IOD frame to frame, "
            f"{noise / dubber_spread:.0%} of the dubber's whole movement ({dubber_spread:.3f}): its sync figures "
            "measure the detector as much as the mouth; judge this one by eye in the review movie")
    return {"r_vs_dubber": lipsync.pearson(opening, dubber),
            "shape_r_vs_dubber": lipsync.shape_r(landmarks[name], landmarks["dubber"]),
            "closure_agreement": closure["all"], "closure_closed": closure["closed"], "closure_open": closure["open"],
            "lips_lost_share": float(np.mean(lipsync.lips_lost(landmarks[name]))),
            "best_lag": lag, "r_at_best_lag": lag_r, "opening_noise": noise, "sync_noisy": noisy}


def _perceptual(models: PerceptualModels | None, a0: list[np.ndarray], result: list[np.ndarray]) -> dict[str, float]:
    """Mean LPIPS of the result's mouth boxes against A0's, and the FID of the two sets (when models are given)."""
    out: dict[str, float] = {}
    if models is not None and models.vgg16 is not None:
        out["lpips"] = _mean([models.lpips([a], [r])[0] for a, r in zip(a0, result)])
    if models is not None and models.inception is not None:
        out["fid"] = frechet_distance(np.concatenate([models.features([a]) for a in a0]),
                                      np.concatenate([models.features([r]) for r in result]))
    return out


def _mean(values: Any) -> float:
    array = np.asarray(values, np.float64)
    array = array[np.isfinite(array)]
    return float(array.mean()) if array.size else float("nan")


def _truth_curve(files: dict[str, str], frames: list[int]) -> np.ndarray | None:
    """The sample shot's true dubber mouth opening over ``frames`` (None for real footage)."""
    path = files.get("truth")
    if not path or not Path(path).is_file():
        return None
    truth = json.loads(Path(path).read_text(encoding="utf-8"))["dubber"]["landmarks"]
    lm = np.array([truth.get(str(f), np.full((68, 2), np.nan)) for f in frames], np.float64)
    return lipsync.mouth_opening(lm)


def _identity(files: dict[str, str], tracks: dict[str, Track], frames: list[int], reader: _Reader,
              metrics: ShotMetrics) -> dict[str, dict[str, float]]:
    """Mean descriptor distance of each result to the actor's and the dubber's faces, on sampled frames."""
    step = max(1, len(frames) // IDENTITY_SAMPLES)
    sampled = frames[::step]

    def descriptors(pattern: str, track: Track, numbers: list[int]) -> list[np.ndarray]:
        out = []
        by_frame = {r.frame: r.landmarks for r in track.records}
        for f in numbers:
            lm = by_frame.get(f)
            if lm is not None:
                out.append(descriptor(to_uint8(reader.network(_frame(pattern, f))), lm))
        return out

    actor = descriptors(files["actor"], tracks["actor"], sampled)
    dubber_track = load_track(files["dubber_track"])
    dubber_frames = dubber_track.frames[:: max(1, len(dubber_track.frames) // IDENTITY_SAMPLES)]
    dubber = descriptors(files["dubber"], dubber_track, dubber_frames)
    if not actor or not dubber:
        metrics.notes.append("identity: no face descriptors for the actor or the dubber; skipped")
        return {}
    actor_ref, dubber_ref = np.mean(actor, axis=0), np.mean(dubber, axis=0)
    metrics.references["actor_dubber_identity_distance"] = distance(actor_ref, dubber_ref)
    out = {}
    for name in metrics.results:
        found = descriptors(files[name], tracks[name], sampled)
        if found:
            out[name] = {"identity_to_actor": float(np.mean([distance(d, actor_ref) for d in found])),
                         "identity_to_dubber": float(np.mean([distance(d, dubber_ref) for d in found]))}
    metrics.notes.append(f"identity on {len(sampled)} sampled frames against {len(actor)} actor and "
                         f"{len(dubber)} dubber frames (dlib face-recognition ResNet, 128-D)")
    return out
