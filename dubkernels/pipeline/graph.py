"""The dub of a shot as a graph of jobs (paper: two passes of the same stages).

Every step is a job spec writing under the work folder; a step depends on the steps whose
outputs it reads. Pass 1: ingest (videos) -> analyze -> PoseAlign (the dubber in the actor's
pose, and the actor's own render) -> train (and FaceSR's fine-tune on the actor) -> IdentitySwap
-> LandmarkStabilize -> FaceSR -> MouthComposite onto A0. Pass 2: the same with the pass-1 result as the dubber
(same pose, so no PoseAlign). Beside them, right after PoseAlign, the training-free "own mouth" (the actor's own
footage re-timed and warped onto the dubber's mouth: OwnMouth), and the "paste" (the PoseAlign render composited
with the same mask, no network: a sync reference, never delivered). The learned passes run only where the shot
asks for them (``[train] learned``; by default not with the CPU's ``preview`` preset, whose passes measured below
the own mouth on every pair): without them the dub is the own mouth, its two composites, the paste and the report.

Every candidate (own mouth with the plate's chin and with its own, pass 1, pass 2) is composited over the region around the face only; the report
measures them against the bar, and the chosen one is delivered by its plate-extent composite into the shot's
output (``Graph.deliveries``, run by :mod:`dubkernels.pipeline.deliver`).

Generated faces are analysed with a guide: the landmarks PoseAlign drew and the landmarks of
each step's input (IdentitySwap keeps the expression; LandmarkStabilize writes where it moved
them), so detection failures on generated faces never leave a frame undubbed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dubkernels.jobs.spec import Job
from dubkernels.pipeline.shot import Shot

PASS_STEPS = ("train", "swap", "analyze_swap", "stabilize", "analyze_stab", "composite")


@dataclass
class Step:
    """One job of the graph, the steps it needs, and the pass it belongs to."""

    name: str
    job: Job
    needs: list[str] = field(default_factory=list)
    group: str = ""
    help: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.name, "needs": self.needs, "group": self.group, "help": self.help,
                "job": self.job.as_dict()}


@dataclass
class Graph:
    """The steps of a dub in run order, the files the report reads, and per candidate (own, pass1, pass2) the
    composite that delivers it: the shot's output at plate extent (``dubkernels deliver`` runs the chosen one)."""

    steps: list[Step]
    files: dict[str, str]
    deliveries: dict[str, Job] = field(default_factory=dict)

    def step(self, name: str) -> Step:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.steps]

    def needed_for(self, targets: list[str]) -> list[str]:
        """The steps ``targets`` need, themselves included, in run order."""
        needed, todo = set(), list(targets)
        while todo:
            name = todo.pop()
            if name not in needed:
                needed.add(name)
                todo += self.step(name).needs
        return [n for n in self.names if n in needed]

    @property
    def quick_look(self) -> list[str]:
        """The steps of `dub --quick`: the training-free baselines and their tracks."""
        return self.needed_for([name for name in QUICK_LOOK if name in self.names])

    def delivery_needs(self, result: str) -> list[str]:
        """The steps that write what ``result``'s delivery reads (its face layer and track), with what they need."""
        inputs = set(self.deliveries[result].inputs.values())
        return self.needed_for([s.name for s in self.steps if inputs & set(s.job.outputs.values())])


QUICK_LOOK = ("analyze_own_comp", "analyze_own_chin_comp", "analyze_paste")  # the training-free baselines:
# `dub --quick` (the own mouth with its drawn chin where the layer carries the jaw band)


class _Builder:
    def __init__(self, shot: Shot):
        self.shot = shot
        self.work = shot.work
        self.steps: list[Step] = []
        self.files: dict[str, str] = {}
        self.deliveries: dict[str, Job] = {}
        self.producer: dict[str, str] = {}  # output path -> step that writes it

    def seq(self, folder: str, name: str) -> str:
        return str(self.work / folder / f"{name}.####.exr")

    def path(self, relative: str) -> str:
        return str(self.work / relative)

    def add(self, name: str, kind: str, inputs: dict[str, str], outputs: dict[str, str], group: str, help: str,
            params: dict[str, Any] | None = None, frames: str | None = None) -> Step:
        values = dict(self.shot.stages.get(kind, {}))
        values.update(params or {})
        job = Job(kind, inputs, outputs, frames, values, self.shot.ocio or None)
        needs = sorted({self.producer[v] for v in inputs.values() if v in self.producer})
        step = Step(name, job, needs, group, help)
        self.steps.append(step)
        for value in outputs.values():
            self.producer[value] = name
        return step

    def take(self, role: str) -> tuple[str, str]:
        """The take's EXR pattern (ingesting a video first) and its analysis step's track."""
        take = getattr(self.shot, role)
        pattern = take.source
        if take.is_video:
            pattern = self.seq(f"plates/{role}", role)
            self.add(f"ingest_{role}", "ingest", {"clip": take.source}, {"out": pattern}, "ingest",
                     f"decode the {role} video into scene-linear EXRs",
                     {"colourspace": take.colourspace, "replace_ingested": True})  # the work folder's own copy
        track = self.path(f"tracks/{role}.track.json")
        frames = self.shot.frames or None if role == "actor" else None
        self.add(f"analyze_{role}", "analyze", {"plate": pattern}, {"out": track}, "analyze",
                 f"track the {role}'s face", frames=frames)
        return pattern, track

    def line(self, actor: str, dubber: str) -> None:
        """The dubbed line's WAV beside the shot's output, where the dubber take (or ``[dubber] audio``) has sound."""
        from dubkernels.io.audio import has_audio  # PyAV: only where a graph is built

        take = self.shot.dubber
        if not take.sound or (not take.audio and not Path(take.sound).is_file()) or not has_audio(take.sound):
            return  # no sound given (the report says so); a missing take is the ingest's error to name
        self.add("line", "line", {"sound": take.sound, "actor": actor, "dubber": dubber},
                 {"out": self.shot.line_output}, "ingest", "the dubbed line's sound on the shot's timeline (a WAV)",
                 {"dubber_offset": take.offset, "audio_offset": take.audio_offset})
        self.files["line"] = self.shot.line_output

    def analyze_face(self, name: str, pattern: str, guide: str, group: str, what: str) -> str:
        """Track a generated face, guided by the landmarks known where it was drawn (only those frames)."""
        track = self.path(f"tracks/{name}.track.json")
        self.add(f"analyze_{name}", "analyze", {"plate": pattern, "guide": guide}, {"out": track}, group,
                 f"track the {what} (guided by the landmarks known where it was drawn)",
                 {"passthrough_missing": True, "guide_frames_only": True})
        return track

    def train(self, group: str, inputs: dict[str, str], init: str) -> str:
        folder = self.path(f"{group}/train")
        t = self.shot.train
        params: dict[str, Any] = {"config": t.preset, "seed": t.seed, "workers": t.workers, "device": self.shot.device}
        if t.iterations:
            params["iterations"] = t.iterations
        if t.minutes:
            params["minutes"] = t.minutes
        if init:
            inputs = {**inputs, "init": init}
        step = self.add(f"train_{group}", "train", inputs, {"out": folder}, group,
                        "train the Y-network: actor and dubber decoders on a shared encoder", params)
        return self.checkpoint(step, folder)

    def checkpoint(self, step: Step, folder: str) -> str:
        """The checkpoint a training step leaves in its run folder; the steps reading it depend on that step."""
        path = str(Path(folder) / "latest.safetensors")
        self.producer[path] = step.name
        return path

    def train_sr(self, actor: str, actor_track: str, swap_checkpoint: str) -> str:
        """FaceSR fine-tuned on the actor plate, with the pass-1 swap's soft output among its inputs."""
        folder = self.path("face_sr/train")
        t = self.shot.train
        params: dict[str, Any] = {"config": t.sr_preset, "seed": t.seed, "workers": t.workers,
                                  "device": self.shot.device}
        if t.sr_iterations:
            params["iterations"] = t.sr_iterations
        if t.sr_minutes:
            params["minutes"] = t.sr_minutes
        step = self.add("train_sr", "train_sr", {"actor": actor, "actor_track": actor_track,
                                                 "swap_checkpoint": swap_checkpoint}, {"out": folder}, "pass1",
                        "fine-tune FaceSR on the actor's own face (degraded and self-swapped crops)", params)
        return self.checkpoint(step, folder)

    def identity_pass(self, group: str, actor: str, actor_track: str, face: str, face_track: str,
                      checkpoint: str, sr_checkpoint: str | None) -> str:
        """IdentitySwap, its track, LandmarkStabilize, its track, FaceSR and its track, MouthComposite onto A0:
        the pass's result."""
        swap = self.seq(f"{group}/swap", "swap")
        self.add(f"swap_{group}", "identity_swap", {"face": face, "face_track": face_track, "checkpoint": checkpoint},
                 {"out": swap}, group, "the input face with the actor's identity", {"device": self.shot.device})
        swap_track = self.analyze_face(f"swap_{group}", swap, face_track, group, "swapped face")
        stab = self.seq(f"{group}/stab", "stab")
        stab_landmarks = self.path(f"{group}/stab/stab.landmarks.json")
        self.add(f"stabilize_{group}", "stabilize", {"face": swap, "face_track": swap_track},
                 {"out": stab, "landmarks": stab_landmarks}, group, "take the jitter out of the swapped face")
        stab_track = self.analyze_face(f"stab_{group}", stab, stab_landmarks, group, "stabilised face")
        if sr_checkpoint:
            sharp = self.seq(f"{group}/sr", "sr")
            self.add(f"sr_{group}", "face_sr", {"face": stab, "face_track": stab_track, "checkpoint": sr_checkpoint},
                     {"out": sharp}, group, "the stabilised face sharpened by the actor's FaceSR",
                     {"device": self.shot.device})
            stab, stab_track = sharp, self.analyze_face(f"sr_{group}", sharp, stab_track, group, "sharpened face")
        out = self.seq(f"{group}/comp", "comp")
        self.composite(f"composite_{group}", group, actor, actor_track, stab, stab_track, out,
                       self.seq(f"{group}/mask", "mask"), "the new mouth composited into A0; every other pixel kept")
        self.files[f"{group}_face"], self.files[f"{group}_face_track"] = stab, stab_track
        self.files[f"{group}_mask"] = self.seq(f"{group}/mask", "mask")
        return out

    def composite(self, name: str, result: str, actor: str, actor_track: str, face: str, face_track: str, out: str,
                  mask: str, help: str, params: dict[str, Any] | None = None) -> None:
        """A candidate's composite over the region around the face (what the report measures), and its delivery:
        the same composite over the whole plate into the shot's output."""
        inputs = {"actor": actor, "actor_track": actor_track, "face": face, "face_track": face_track}
        step = self.add(name, "mouth_composite", inputs, {"out": out, "mask": mask}, "baseline" if result.startswith("own")
                        else result, help, {"uncovered": "copy", "extent": "face", **(params or {})})
        self.deliveries[result] = Job("mouth_composite", dict(inputs),
                                      {"out": self.shot.output, "mask": self.seq("final_mask", "mask")}, None,
                                      {**step.job.params, "extent": "plate"}, step.job.ocio)

    def own_mouth(self, actor: str, actor_track: str, target_track: str) -> None:
        """The training-free baseline: the actor's own mouths on the dubber's, composited over the face twice when
        the layer carries its jaw band: with the plate's chin (``own``) and with the drawn chin (``own_chin``)."""
        own, landmarks = self.seq("baseline/own", "own"), self.path("baseline/own/own.landmarks.json")
        self.add("own_mouth", "own_mouth", {"actor": actor, "actor_track": actor_track, "target_track": target_track},
                 {"out": own, "landmarks": landmarks}, "baseline",
                 "baseline: the actor's own nearest mouth warped onto the dubber's (no training)")
        own_track = self.analyze_face("own", own, landmarks, "baseline", "actor's-own-mouth layer")
        self.files["own_face"] = own
        self.own_composite("own", "actor's own mouth", (actor, actor_track), (own, own_track))
        if self.shot.own_chin:  # the layer carries its jaw band
            self.own_composite("own_chin", "actor's own mouth and its drawn chin", (actor, actor_track),
                               (own, own_track), {"chin": True})

    def own_composite(self, result: str, what: str, plate: tuple[str, str], layer: tuple[str, str],
                      params: dict[str, Any] | None = None) -> None:
        """One composite of the own-mouth ``layer`` (pattern, track) over the ``plate`` (pattern, track), its track,
        and the files the report reads for ``result``."""
        comp, mask = self.seq(f"baseline/{result}_comp", f"{result}_comp"), self.seq(f"baseline/{result}_mask",
                                                                                    f"{result}_mask")
        self.composite(f"composite_{result}", result, *plate, *layer, comp, mask, f"the {what} composited into A0",
                       params)
        comp_track = self.analyze_face(f"{result}_comp", comp, layer[1], "baseline", what)
        self.files.update({result: comp, f"{result}_track": comp_track, f"{result}_mask": mask})

    def build(self) -> Graph:
        actor, actor_track = self.take("actor")
        dubber, dubber_track = self.take("dubber")
        self.line(actor, dubber)
        pa, pa_landmarks = self.seq("pass1/pose_align", "pa"), self.path("pass1/pose_align/pa.landmarks.json")
        offset = {"dubber_offset": self.shot.dubber.offset} if self.shot.dubber.offset else {}
        self.add("pose_align", "pose_align", {"actor": actor, "actor_track": actor_track, "dubber": dubber,
                                              "dubber_track": dubber_track},
                 {"out": pa, "landmarks": pa_landmarks}, "pass1", "the dubber's face in the actor's pose", offset)
        pa_track = self.analyze_face("pa", pa, pa_landmarks, "pass1", "dubber render")
        self.own_mouth(actor, actor_track, pa_track)
        if self.shot.train.learned_passes():
            self.learned_passes((actor, actor_track), (dubber, dubber_track), (pa, pa_track))
        paste = self.seq("baseline/paste", "paste")
        self.add("composite_paste", "mouth_composite",
                 {"actor": actor, "actor_track": actor_track, "face": pa, "face_track": pa_track},
                 {"out": paste, "mask": self.seq("baseline/mask", "mask")}, "baseline",
                 "baseline for the report: the PoseAlign render pasted with the same mask, no network",
                 {"uncovered": "copy", "extent": "face"})
        paste_track = self.analyze_face("paste", paste, pa_track, "baseline", "pasted baseline")
        self.files.update({"actor": actor, "actor_track": actor_track, "dubber": dubber, "dubber_track": dubber_track,
                           "dubber_render": pa, "dubber_render_track": pa_track, "paste": paste,
                           "paste_track": paste_track, "paste_mask": self.seq("baseline/mask", "mask"),
                           "report": self.path("report")})
        return Graph(self.steps, self.files, self.deliveries)

    def learned_passes(self, plate: tuple[str, str], take: tuple[str, str], render: tuple[str, str]) -> None:
        """The paper's two learned passes (pattern, track of the actor ``plate``, the dubber ``take`` and its
        PoseAlign ``render``): the actor's own render for training, the Y-network (and FaceSR) trained, pass 1 on the
        render, pass 2 on the first pass the shot refines."""
        (actor, actor_track), (dubber, dubber_track), (pa, pa_track) = plate, take, render
        par, par_landmarks = self.seq("pass1/actor_render", "par"), self.path("pass1/actor_render/par.landmarks.json")
        self.add("pose_align_actor", "pose_align", {"actor": actor, "actor_track": actor_track, "dubber": actor,
                                                    "dubber_track": actor_track},
                 {"out": par, "landmarks": par_landmarks}, "pass1", "the actor's own face render (training data)",
                 {"colour_transfer": False})
        par_track = self.analyze_face("par", par, par_landmarks, "pass1", "actor render")
        ckpt1 = self.train("pass1", {"actor": actor, "actor_track": actor_track, "dubber": dubber,
                                     "dubber_track": dubber_track, "actor_render": par, "actor_render_track": par_track,
                                     "dubber_render": pa, "dubber_render_track": pa_track}, self.shot.train.init)
        sr = self.train_sr(actor, actor_track, ckpt1) if self.shot.train.face_sr else None
        comp1 = self.identity_pass("pass1", actor, actor_track, pa, pa_track, ckpt1, sr)
        comp1_track = self.analyze_face("comp_pass1", comp1, self.files["pass1_face_track"], "pass2", "pass-1 result")
        first, first_track = ((comp1, comp1_track) if self.shot.train.second_pass_input() == "pass1"
                              else (self.files["own"], self.files["own_track"]))
        ckpt2 = self.train("pass2", {"actor": actor, "actor_track": actor_track, "dubber": first,
                                     "dubber_track": first_track}, ckpt1)
        comp2 = self.identity_pass("pass2", actor, actor_track, first, first_track, ckpt2, sr)
        comp2_track = self.analyze_face("comp_pass2", comp2, self.files["pass2_face_track"], "pass2", "pass-2 result")
        self.files.update({"pass1": comp1, "pass1_track": comp1_track, "pass2": comp2, "pass2_track": comp2_track})


def build_graph(shot: Shot) -> Graph:
    """The dub's steps in run order."""
    return _Builder(shot).build()
