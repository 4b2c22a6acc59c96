"""Shot files: the whole dub of one shot in one readable TOML file.

``dubkernels dub --template`` writes a commented one. Sections: ``[shot]`` (output, work
folder, frames, OCIO config, device), ``[actor]`` and ``[dubber]`` (an EXR pattern or a
mov/mp4, with its colourspace; the dubber's offset), ``[train]`` (preset, iterations,
time budget, pre-training checkpoint), ``[report]`` (local LPIPS and FID model files), and one
section per job kind whose parameters
you want to change (``[analyze]``, ``[pose_align]``, ``[identity_swap]``, ``[stabilize]``,
``[mouth_composite]``). Relative paths resolve against the shot file's folder. Any key
can be overridden on the command line as ``section.key=value``; an unknown key is an
error that lists the valid ones.
"""
from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dubkernels.errors import DubKernelsError
from dubkernels.jobs.kinds import KINDS
from dubkernels.jobs.params import DEFAULT_VIDEO_COLOURSPACE, OwnMouthParams, check_device_name, parse_params
from dubkernels.report.bar import DELIVER_CHOICES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

VIDEO_SUFFIXES = (".mov", ".mp4", ".m4v", ".mkv", ".avi", ".mxf")
STAGE_SECTIONS = ("analyze", "pose_align", "own_mouth", "identity_swap", "stabilize", "face_sr", "mouth_composite")
# Keys the dub sets itself, per job kind: not the user's to set in a stage section.
MANAGED = {"identity_swap": ("device",), "pose_align": ("dubber_offset", "dubber_colourspace"),
           "mouth_composite": ("uncovered",), "analyze": ("guide_frames_only",)}


class ShotError(DubKernelsError):
    """A shot file is missing, malformed, or names something that does not exist."""


@dataclass
class Take:
    """An actor or dubber take: an EXR pattern or a video file, and the colourspace of a video."""

    source: str
    colourspace: str = DEFAULT_VIDEO_COLOURSPACE
    offset: int = 0  # dubber only: dubber frames to skip before the actor's first frame
    audio: str = ""  # dubber only: the line's sound file (empty: a video take's own sound)
    audio_offset: float = 0.0  # dubber only: seconds into ``audio`` where the take's first frame is

    @property
    def is_video(self) -> bool:
        return Path(self.source).suffix.lower() in VIDEO_SUFFIXES

    @property
    def sound(self) -> str:
        """The file the line's sound comes from: ``audio``, else a video take itself (empty: none given)."""
        return self.audio or (self.source if self.is_video else "")


@dataclass
class TrainSettings:
    preset: str = "preview"
    iterations: int = 0
    minutes: float = 0.0
    init: str = ""
    seed: int = 0
    workers: int = -1
    face_sr: bool = True
    sr_preset: str = ""
    sr_iterations: int = 0
    sr_minutes: float = 0.0
    pass2_from: str = "auto"  # the first pass that pass 2 refines: own_mouth, pass1, or auto (as the preset)
    learned: str = "auto"  # the learned passes in the chain: on, off, or auto (on but with the CPU's preview preset)

    def learned_passes(self) -> bool:
        """Whether the dub trains and runs the paper's learned passes: pinned, or (auto) with any preset but the
        CPU's ``preview``, whose passes measured below the own mouth on every line of the bar (docs/reports)."""
        if self.learned != "auto":
            return self.learned == "on"
        return self.preset != "preview"

    def second_pass_input(self) -> str:
        """What pass 2 transfers the actor's identity onto: pass 1 for the paper's preset (the paper's chain),
        otherwise the actor's own mouth, the sharp first pass a CPU makes; or the pinned one."""
        if self.pass2_from != "auto":
            return self.pass2_from
        return "pass1" if self.preset == "paper" else "own_mouth"


PASS2_FROM_CHOICES = ("auto", "own_mouth", "pass1")
LEARNED_CHOICES = ("auto", "on", "off")


@dataclass
class Shot:
    """A parsed, checked shot file."""

    path: Path
    name: str
    output: str
    work: Path
    actor: Take
    dubber: Take
    frames: str = ""
    ocio: str = ""
    device: str = "auto"
    workers: int = 0  # processes for per-frame steps (0: one per core)
    train: TrainSettings = field(default_factory=TrainSettings)
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    lpips_model: str = ""  # the report's LPIPS and FID model files (empty: skipped)
    fid_model: str = ""
    deliver: str = "auto"  # the candidate delivered: auto (ranked by the report) or a pinned one

    @property
    def line_output(self) -> str:
        """The WAV of the dubbed line, beside the shot's output: ``final/final.####.exr`` -> ``final/final.wav``."""
        pattern = Path(self.output)
        stem = pattern.name.split("#")[0].split("%")[0].split("@")[0].rstrip("._") or "line"
        return str(pattern.parent / f"{stem}.wav")

    @property
    def own_chin(self) -> bool:
        """Whether the own-mouth layer carries its jaw band, so the own mouth is also composited with its chin."""
        return bool(self.stages.get("own_mouth", {}).get("chin", OwnMouthParams().chin))


# section -> key -> (default, help); the template is written from this table.
SCHEMA: dict[str, dict[str, tuple[Any, str]]] = {
    "shot": {
        "name": ("shot", "a name for logs and the report"),
        "output": ("final/final.####.exr", "the dubbed shot: an EXR pattern"),
        "work": ("work", "folder for every intermediate step (a rerun resumes from it)"),
        "frames": ("", "actor frames to dub, e.g. \"1001-1216\" (empty: every frame of the actor take)"),
        "ocio": ("", "OCIO config path or ocio:// URI (empty: $OCIO, else OCIO's built-in CG config)"),
        "device": ("auto", "torch device for training and IdentitySwap: auto, cpu, cuda, cuda:N"),
        "workers": (0, "processes for per-frame steps (0: one per core)"),
        "deliver": ("auto", "the candidate written to output: auto (the one the report ranks best against the "
                            "bar), own_mouth, own_chin (the own mouth with its drawn chin), pass1 or pass2"),
    },
    "actor": {
        "source": ("actor.####.exr", "the actor plate A0: an EXR pattern (scene-linear) or a mov/mp4"),
        "colourspace": (DEFAULT_VIDEO_COLOURSPACE, "OCIO colourspace of a video take's pixels"),
    },
    "dubber": {
        "source": ("dubber.mov", "the dubber take D0 saying the new line: an EXR pattern or a mov/mp4"),
        "colourspace": (DEFAULT_VIDEO_COLOURSPACE, "OCIO colourspace of a video take's pixels"),
        "offset": (0, "dubber frames to skip before the actor's first frame (frame rates are matched by time)"),
        "audio": ("", "the dubbed line's sound: a WAV or any file with sound (empty: a video take's own sound); "
                      "written beside the output as a WAV on the shot's timeline"),
        "audio_offset": (0.0, "seconds into the audio file where the dubber take's first frame is"),
    },
    "train": {
        "preset": ("preview", "network preset (preview: CPU-sized; paper: the paper's 256 px network) or a JSON file"),
        "iterations": (0, "iterations per pass (0: the preset's)"),
        "minutes": (0.0, "time budget per training pass (0: none); a rerun goes on training"),
        "init": ("", "pre-training checkpoint (encoder + style module); pass 2 starts from pass 1's"),
        "seed": (0, "random seed"),
        "workers": (-1, "data-loading processes (-1: a quarter of the cores, at most 4; 0: none)"),
        "face_sr": (True, "sharpen the swapped face with FaceSR fine-tuned on the actor (paper 3.3.2)"),
        "sr_preset": ("", "FaceSR preset or JSON file (empty: face_sr_paper or face_sr_preview, as the preset)"),
        "sr_iterations": (0, "FaceSR fine-tune iterations (0: the preset's, 1000)"),
        "sr_minutes": (0.0, "time budget of the FaceSR fine-tune (0: none); a rerun goes on training"),
        "pass2_from": ("auto", "the first pass that pass 2 refines: own_mouth (the actor's own mouth, sharp on a "
                               "CPU), pass1 (the paper's chain), or auto (pass1 with the paper preset, else own_mouth)"),
        "learned": ("auto", "the paper's learned passes (training, pass 1, pass 2): on, off, or auto (on, but off with "
                            "the preview preset: on a CPU they blur and lose the sync the own mouth has, docs/reports)"),
    },
    "report": {
        "lpips_model": ("", "local vgg16.pt (StyleGAN2-ADA metrics) to measure LPIPS (empty: skipped)"),
        "fid_model": ("", "local inception-2015-12-05.pt (StyleGAN2-ADA metrics) to measure FID (empty: skipped)"),
    },
}


def _stage_keys(section: str) -> dict[str, tuple[Any, str]]:
    managed = MANAGED.get(section, ())
    return {f.name: (f.default, f.metadata.get("help", "")) for f in dataclasses.fields(KINDS[section].params)
            if f.name not in managed}


def valid_keys() -> dict[str, list[str]]:
    """Every section and its keys."""
    keys = {section: list(table) for section, table in SCHEMA.items()}
    keys.update({section: list(_stage_keys(section)) for section in STAGE_SECTIONS})
    return keys


def _valid_list() -> str:
    return "; ".join(f"[{s}] {', '.join(k)}" for s, k in valid_keys().items())


def parse_value(text: str) -> Any:
    """A command-line value as TOML would read it (numbers, booleans, quoted or bare strings)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> None:
    """Set ``section.key=value`` overrides into the parsed shot data."""
    for item in overrides:
        key, sep, value = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot:
            raise ShotError(f"override '{item}' must look like section.key=value, e.g. train.minutes=5.")
        table = data.setdefault(section, {})
        if not isinstance(table, dict):
            raise ShotError(f"override '{item}': [{section}] is not a section.")
        table[name] = parse_value(value.strip())


def _check_keys(data: dict[str, Any], where: str) -> None:
    keys = valid_keys()
    for section, table in data.items():
        if section not in keys:
            raise ShotError(f"{where}: unknown section [{section}]; valid sections and keys: {_valid_list()}.")
        if not isinstance(table, dict):
            raise ShotError(f"{where}: '{section}' must be a [section] table.")
        unknown = sorted(set(table) - set(keys[section]))
        if unknown:
            raise ShotError(f"{where}: unknown key {section}.{unknown[0]}; [{section}] takes: "
                            f"{', '.join(keys[section])}.")


def _typed(section: str, key: str, value: Any, default: Any, where: str) -> Any:
    if isinstance(default, bool) and not isinstance(value, bool):
        raise ShotError(f"{where}: {section}.{key} = {value!r} should be true or false.")
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ShotError(f"{where}: {section}.{key} = {value!r} should be a number.")
        if isinstance(default, int) and not float(value).is_integer():
            raise ShotError(f"{where}: {section}.{key} = {value!r} should be a whole number.")
        return type(default)(value)
    if isinstance(default, str) and not isinstance(value, str):
        return str(value)
    return value


def _section(data: dict[str, Any], section: str, where: str) -> dict[str, Any]:
    table = SCHEMA[section]
    given = data.get(section, {})
    return {k: _typed(section, k, given[k], d, where) if k in given else d for k, (d, _) in table.items()}


def _resolve(folder: Path, value: str) -> str:
    if not value or "://" in value or Path(value).is_absolute():
        return value
    return os.path.normpath(folder / value)


def shot_from_data(data: dict[str, Any], path: Path) -> Shot:
    """Check and build a Shot from parsed TOML; relative paths resolve against ``path``'s folder."""
    where = str(path)
    _check_keys(data, where)
    folder = path.resolve().parent
    s, a, d, t, r = (_section(data, name, where) for name in ("shot", "actor", "dubber", "train", "report"))
    for role, take in (("actor", a), ("dubber", d)):
        if role not in data or "source" not in data[role]:
            raise ShotError(f"{where}: [{role}] needs a source (an EXR pattern or a mov/mp4).")
        source = str(take["source"])
        if Path(source).suffix.lower() not in VIDEO_SUFFIXES and not any(c in source for c in "#%@"):
            raise ShotError(f"{where}: [{role}] source = {source!r} is one file, not a take: a take is a video "
                            f"({', '.join(VIDEO_SUFFIXES)}) or an EXR sequence pattern (name.####.exr).")
    stages = {}
    for section in STAGE_SECTIONS:
        values = dict(data.get(section, {}))
        try:
            parse_params(KINDS[section].params, values, f"{where}: [{section}]")  # types and ranges, checked now
        except DubKernelsError as exc:
            raise ShotError(str(exc)) from exc
        stages[section] = values
    try:
        check_device_name("shot.device", s["device"])
    except DubKernelsError as exc:
        raise ShotError(f"{where}: {exc}") from exc
    if s["workers"] < 0 or t["workers"] < -1 or min(t["minutes"], t["iterations"], t["sr_minutes"],
                                                     t["sr_iterations"]) < 0:
        raise ShotError(f"{where}: shot.workers, train.minutes, train.iterations, train.sr_minutes and "
                        "train.sr_iterations must be 0 or more, train.workers -1 or more.")
    train = TrainSettings(t["preset"], t["iterations"], t["minutes"], _resolve(folder, t["init"]), t["seed"],
                          t["workers"], t["face_sr"], t["sr_preset"], t["sr_iterations"], t["sr_minutes"],
                          t["pass2_from"], t["learned"])
    if train.learned not in LEARNED_CHOICES:
        raise ShotError(f"{where}: train.learned = {train.learned!r}; choose one of {', '.join(LEARNED_CHOICES)}.")
    if train.pass2_from not in PASS2_FROM_CHOICES:
        raise ShotError(f"{where}: train.pass2_from = {train.pass2_from!r}; choose one of "
                        f"{', '.join(PASS2_FROM_CHOICES)}.")
    if train.preset not in ("paper", "preview"):
        train.preset = _resolve(folder, train.preset)
        if not Path(train.preset).is_file():
            raise ShotError(f"{where}: train.preset = {t['preset']!r} is neither a preset (paper, preview) nor a config "
                            f"file ({train.preset} not found); check the spelling or the path.")
    if not train.sr_preset and train.face_sr:
        if train.preset not in ("paper", "preview"):
            raise ShotError(f"{where}: train.preset is a config file, so FaceSR cannot pick its preset: set "
                            "train.sr_preset to a FaceSR config of the same input size, or train.face_sr = false.")
        train.sr_preset = f"face_sr_{train.preset}"
    elif train.sr_preset not in ("", "face_sr_paper", "face_sr_preview"):
        train.sr_preset = _resolve(folder, train.sr_preset)
        if not Path(train.sr_preset).is_file():
            raise ShotError(f"{where}: train.sr_preset = {t['sr_preset']!r} is neither a FaceSR preset (face_sr_paper, "
                            f"face_sr_preview) nor a config file ({train.sr_preset} not found); check the spelling or "
                            "the path.")
    if s["deliver"] not in DELIVER_CHOICES:
        raise ShotError(f"{where}: shot.deliver = {s['deliver']!r}; choose one of {', '.join(DELIVER_CHOICES)}.")
    ocio = _resolve(folder, s["ocio"])
    shot = Shot(path, s["name"], _resolve(folder, s["output"]), Path(_resolve(folder, s["work"])),
                Take(_resolve(folder, a["source"]), a["colourspace"]),
                Take(_resolve(folder, d["source"]), d["colourspace"], d["offset"], _resolve(folder, d["audio"]),
                     d["audio_offset"]),
                s["frames"], ocio, s["device"], s["workers"], train, stages, _resolve(folder, r["lpips_model"]),
                _resolve(folder, r["fid_model"]), s["deliver"])
    if shot.deliver in ("pass1", "pass2") and not train.learned_passes():
        raise ShotError(f"{where}: shot.deliver = {shot.deliver!r} needs the learned passes, which are off (train.learned "
                        f"= {train.learned!r} with the {train.preset!r} preset): set train.learned = \"on\", or "
                        "deliver own_mouth or own_chin.")
    if shot.deliver == "own_chin" and not shot.own_chin:
        raise ShotError(f"{where}: shot.deliver = \"own_chin\" needs the own mouth's jaw band: remove "
                        "own_mouth.chin = false, or deliver own_mouth.")
    return shot


def load_shot(path: str | Path, overrides: list[str] | None = None) -> Shot:
    """Read, override and check a shot file."""
    path = Path(path)
    if not path.is_file():
        raise ShotError(f"shot file {path} not found; write one with `dubkernels dub --template {path}`.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ShotError(f"{path}: not valid TOML ({exc}).") from exc
    apply_overrides(data, overrides or [])
    return shot_from_data(data, path)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def template(actor: str = "", dubber: str = "") -> str:
    """A commented shot file with every key at its default (stage sections commented out)."""
    lines = ["# DubKernels shot file. Run it with: dubkernels dub THIS_FILE",
             "# Relative paths are relative to this file. Override any key on the command line:",
             "#   dubkernels dub THIS_FILE --set train.minutes=30 --set mouth_composite.blend=poisson", ""]
    given = {("actor", "source"): actor, ("dubber", "source"): dubber}
    for section, table in SCHEMA.items():
        lines.append(f"[{section}]")
        for key, (default, help) in table.items():
            value = given.get((section, key)) or default
            lines.append(f"{key} = {_toml(value)}".ljust(44) + f"  # {help}")
        lines.append("")
    lines.append("# Stage parameters: uncomment what you change (the values shown are the defaults).")
    for section in STAGE_SECTIONS:
        lines.append(f"# [{section}]")
        for key, (default, help) in _stage_keys(section).items():
            value = list(default) if isinstance(default, tuple) else default
            lines.append(f"# {key} = {_toml(value)}".ljust(44) + f"  # {help}")
        lines.append("")
    return "\n".join(lines)
