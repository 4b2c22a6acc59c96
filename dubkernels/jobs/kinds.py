"""Declarations of every job kind: inputs, outputs, parameters, help, and where its code lives.

This module imports no torch, dlib or OpenImageIO, so the CLI's parser, ``dubkernels describe
--json`` and the Nuke plugin read it in milliseconds. The code that runs a kind is imported
only when a job of that kind runs (``runner``: ``module:attribute``).

Port kinds: ``sequence`` (an EXR frame pattern), ``video`` (a mov/mp4 file), ``track``
(a track JSON), ``checkpoint`` (a .safetensors file), ``file`` (any other file), ``folder``.
"""
from __future__ import annotations

import dataclasses
import importlib
import os
from dataclasses import dataclass
from typing import Any

from dubkernels.jobs import params as P
from dubkernels.jobs.spec import JobError

@dataclass(frozen=True)
class Port:
    """One input or output of a job kind."""

    name: str
    kind: str
    help: str
    optional: bool = False
    positional: bool = False  # a positional argument on the command line

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "help": self.help, "optional": self.optional}


@dataclass(frozen=True)
class JobKind:
    """What a job kind takes and makes. ``per_frame`` kinds render frames in chunks (farm-parallel)."""

    name: str
    help: str
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    params: type
    runner: str
    per_frame: bool
    aliases: tuple[str, ...] = ()
    workers_run: tuple[str, ...] = ()  # modules its worker processes run, beside a per-frame kind's runner

    @property
    def worker_modules(self) -> tuple[str, ...]:
        """The modules this kind's worker processes import (preloaded once by the dub's fork server)."""
        return ((self.runner.split(":")[0],) if self.per_frame else ()) + self.workers_run

    @property
    def command(self) -> str:
        return self.name.replace("_", "-")

    def input(self, name: str) -> Port:
        return {p.name: p for p in self.inputs}[name]

    def output(self, name: str) -> Port:
        return {p.name: p for p in self.outputs}[name]

    def check_ports(self, job: Any) -> None:
        """The job's inputs and outputs must be this kind's: every required one, nothing unknown."""
        names = [p.name for p in self.inputs]
        required = [p.name for p in self.inputs if not p.optional]
        optional = [n for n in names if n not in required]
        if any(n not in job.inputs for n in required) or any(n not in names for n in job.inputs):
            raise JobError(f"{self.name}: inputs {sorted(job.inputs)} do not match; it needs {required}"
                           + (f" and takes {optional}" if optional else "") + ".")
        outputs = [p.name for p in self.outputs]
        required = [p.name for p in self.outputs if not p.optional]
        if any(n not in job.outputs for n in required) or any(n not in outputs for n in job.outputs):
            raise JobError(f"{self.name}: outputs {sorted(job.outputs)} do not match; it writes {outputs}.")
        written: dict[str, str] = {}
        for name, value in job.outputs.items():
            key = os.path.normpath(os.path.abspath(value))
            if key in written:
                raise JobError(f"{self.name}: outputs {written[key]} and {name} both name {value}: one would write "
                               "over the other; give each output its own path.")
            written[key] = name
        for name, value in job.inputs.items():
            key = os.path.normpath(os.path.abspath(value))
            if key in written:
                raise JobError(f"{self.name}: output {written[key]} names input {name}'s {value}: it would write "
                               "over its own input; give the output another path.")

    def load(self) -> Any:
        """The class or function that runs this kind (imports its heavy modules now)."""
        module, attribute = self.runner.split(":")
        return getattr(importlib.import_module(module), attribute)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "command": self.command, "aliases": list(self.aliases), "help": self.help,
                "per_frame": self.per_frame, "inputs": [p.as_dict() for p in self.inputs],
                "outputs": [p.as_dict() for p in self.outputs], "params": describe_params(self.params)}


def describe_params(cls: type) -> list[dict[str, Any]]:
    """Name, type, default, help and range of each parameter (what a Nuke knob needs)."""
    out = []
    for f in dataclasses.fields(cls):
        default: Any = f.default
        kind = "tuple" if isinstance(default, tuple) else type(default).__name__
        entry: dict[str, Any] = {"name": f.name, "type": kind, "default": list(default) if kind == "tuple" else default,
                                 "help": f.metadata.get("help", "")}
        for key in ("min", "max", "nargs"):
            if key in f.metadata:
                entry[key] = f.metadata[key]
        if "choices" in f.metadata:
            entry["choices"] = list(f.metadata["choices"])
        entry["changes_result"] = f.metadata.get("identity", True)
        out.append(entry)
    return out


def _io(name: str, kind: str, help: str, **extra: Any) -> Port:
    return Port(name, kind, help, **extra)


KINDS: dict[str, JobKind] = {k.name: k for k in (
    JobKind(
        "ingest", "decode a mov/mp4 clip into a scene-linear half EXR sequence, keeping frame rate and timecode",
        inputs=(_io("clip", "video", "video file (mov, mp4)", positional=True),),
        outputs=(_io("out", "sequence", "EXR sequence to write, e.g. plates/shot.####.exr", positional=True),),
        params=P.IngestParams, runner="dubkernels.tasks.ingest:run_ingest", per_frame=False),
    JobKind(
        "line", "the dubbed line's sound on the shot's timeline: a 48 kHz WAV as long as the actor plate, for Nuke's "
                "AudioRead, editorial and the review movie",
        inputs=(_io("sound", "file", "the dubber take's sound: a mov/mp4 with an audio stream, or a WAV"),
                _io("actor", "sequence", "actor plate A0: the shot's frames and frame rate"),
                _io("dubber", "sequence", "dubber take D0: its frame rate, for the offset")),
        outputs=(_io("out", "file", "WAV file to write (24-bit PCM)"),),
        params=P.LineParams, runner="dubkernels.tasks.line:run_line", per_frame=False),
    JobKind(
        "analyze", "detect, landmark and track the face of a plate; write its track file",
        inputs=(_io("plate", "sequence", "EXR sequence pattern, e.g. plates/shot.####.exr", positional=True),
                _io("overrides", "file", "user overrides file (hand-corrected landmarks) merged on top", optional=True),
                _io("guide", "file", "known landmarks of these frames (a track, or PoseAlign's landmarks file): used "
                                     "where detection fails or strays", optional=True),
                _io("predictor", "file", "your own 68-point dlib shape predictor .dat (default: "
                                         "face-recognition-models')", optional=True)),
        outputs=(_io("out", "track", "track file to write (JSON)"),),
        params=P.AnalyzeParams, runner="dubkernels.tasks.analyze:run_analyze", per_frame=False,
        workers_run=("dubkernels.analysis", "dubkernels.face.preload")),  # runs of frames, dlib's models loaded
    JobKind(
        "train", "train the Y-network for one shot (actor and dubber decoders)",
        inputs=tuple(port for role, optional in (("actor", False), ("dubber", False), ("actor_render", True),
                                                 ("dubber_render", True))
                     for port in (_io(role, "sequence", f"{role.replace('_', ' ')} sequence", optional=optional),
                                  _io(f"{role}_track", "track", f"track of the {role.replace('_', ' ')}",
                                      optional=optional)))
        + (_io("init", "checkpoint", "pre-training checkpoint (encoder + style module are loaded)", optional=True),),
        outputs=(_io("out", "folder", "run folder: checkpoints, loss.jsonl, previews/ (an existing run resumes)",
                     positional=True),),
        params=P.TrainParams, runner="dubkernels.tasks.train:run_train", per_frame=False),
    JobKind(
        "train_sr", "fine-tune FaceSR on the actor plate (pairs: its face crops degraded, and self-swapped)",
        inputs=(_io("actor", "sequence", "actor plate A0: the faces FaceSR learns to restore"),
                _io("actor_track", "track", "track of the actor plate"),
                _io("swap_checkpoint", "checkpoint", "this shot's IdentitySwap checkpoint: its soft output of the "
                                                     "actor's crops become training inputs", optional=True),
                _io("init", "checkpoint", "a FaceSR checkpoint to start from", optional=True)),
        outputs=(_io("out", "folder", "run folder: checkpoints, loss.jsonl, previews/ (an existing run resumes)",
                     positional=True),),
        params=P.TrainSRParams, runner="dubkernels.tasks.train:run_train_sr", per_frame=False),
    JobKind(
        "pose_align", "Render the dubber's face in the actor's pose.",
        inputs=(_io("actor", "sequence", "actor plate A0 (resolution and colour statistics)"),
                _io("actor_track", "track", "track of the actor plate"),
                _io("dubber", "sequence", "dubber plate D0 (or the actor plate, for the actor's own render)"),
                _io("dubber_track", "track", "track of the dubber plate")),
        outputs=(_io("out", "sequence", "RGBA face layer in the actor's plate coordinates"),
                 _io("landmarks", "file", "where the render put the 68 landmarks of every frame (a guide for "
                                          "`analyze --guide`)", optional=True)),
        params=P.PoseAlignParams, runner="dubkernels.stages.pose_align:PoseAlign", per_frame=True),
    JobKind(
        "own_mouth", "Warp the actor's own nearest mouth onto the dubber's mouth shape, frame by frame.",
        inputs=(_io("actor", "sequence", "actor plate A0 (the mouths to choose from)"),
                _io("actor_track", "track", "track of the actor plate"),
                _io("target_track", "track", "where each frame's mouth must be: the track of PoseAlign's render "
                                             "(the dubber's mouth in the actor's pose)")),
        outputs=(_io("out", "sequence", "RGBA face layer in the actor's plate coordinates"),
                 _io("landmarks", "file", "the 68 landmarks the layer was warped onto (a guide for "
                                          "`analyze --guide`)", optional=True)),
        params=P.OwnMouthParams, runner="dubkernels.stages.own_mouth:OwnMouth", per_frame=True),
    JobKind(
        "identity_swap", "Give the input face the actor's identity with the trained Y-network.",
        inputs=(_io("face", "sequence", "input face sequence: aligned dubber render (pass 1) or the pass-1 result (pass 2)"),
                _io("face_track", "track", "track of the input face sequence"),
                _io("checkpoint", "checkpoint", "trained per-shot checkpoint (.safetensors)")),
        outputs=(_io("out", "sequence", "RGBA face layer: the actor's face, plate coordinates"),),
        params=P.IdentitySwapParams, runner="dubkernels.stages.identity_swap:IdentitySwap", per_frame=True,
        aliases=("swap",)),
    JobKind(
        "stabilize", "Smooth the face layer's landmarks and move each frame onto the smoothed track.",
        inputs=(_io("face", "sequence", "RGBA face layer (premultiplied, plate coordinates), e.g. IdentitySwap's output"),
                _io("face_track", "track", "track of the face layer (`dubkernels analyze` on it)")),
        outputs=(_io("out", "sequence", "stabilised RGBA face layer"),
                 _io("landmarks", "file", "where the stabilised layer's 68 landmarks are (a guide for "
                                          "`analyze --guide`)", optional=True)),
        params=P.StabilizeParams, runner="dubkernels.stages.stabilize:LandmarkStabilize", per_frame=True),
    JobKind(
        "face_sr", "Sharpen the face layer with the actor's fine-tuned FaceSR.",
        inputs=(_io("face", "sequence", "RGBA face layer (premultiplied, plate coordinates), e.g. LandmarkStabilize's"),
                _io("face_track", "track", "track of the face layer"),
                _io("checkpoint", "checkpoint", "FaceSR checkpoint fine-tuned on this actor (`train-sr`)")),
        outputs=(_io("out", "sequence", "the sharpened RGBA face layer (same alpha, plate coordinates)"),),
        params=P.FaceSRParams, runner="dubkernels.stages.face_sr:FaceSRStage", per_frame=True),
    JobKind(
        "mouth_composite", "Composite the generated face's mouth into the actor plate A0.",
        inputs=(_io("actor", "sequence", "actor plate A0 (EXR pattern)"),
                _io("actor_track", "track", "track of A0"),
                _io("face", "sequence", "generated face layer F: RGBA on black, plate coordinates (EXR pattern)"),
                _io("face_track", "track", "track of F (landmarks of the generated face)")),
        outputs=(_io("out", "sequence", "the composited plate"),
                 _io("mask", "sequence", "debug: the final mask (channel 'mask')", optional=True)),
        params=P.MouthCompositeParams, runner="dubkernels.stages.mouth_composite:MouthComposite", per_frame=True),
)}


def job_kind(name: str) -> JobKind:
    """The declaration of kind ``name`` (or of a kind whose alias or command it is)."""
    for kind in KINDS.values():
        if name in (kind.name, kind.command) or name in kind.aliases:
            return kind
    raise JobError(f"unknown stage '{name}'; choose one of {', '.join(KINDS)}.")


def describe() -> dict[str, Any]:
    """Every job kind's declaration, as ``dubkernels describe --json`` prints it."""
    from dubkernels._version import __version__

    return {"format": "dubkernels-describe", "version": 1, "dubkernels": __version__,
            "kinds": [k.as_dict() for k in KINDS.values()]}
