"""A shot's job graph laid out for a render farm: which steps run once, which in frame chunks, which on a GPU.

The steps are `dubkernels dub`'s (same job specs, written to ``WORK/jobs/``), in dependency order,
followed by the shot report and the delivery (the candidate the report chose, over the whole plate).
Per-frame steps run as ``dubkernels run JOB --chunk a-b``: each chunk renders the job's frames inside
it, and a chunk run again redoes only what is missing or out of date (the engine resumes by job
identity). Training asks for a GPU, and so do IdentitySwap and FaceSR unless the shot's device is
the CPU. Every path is written relative to one of the shot's roots (:mod:`dubkernels.farm.roots`),
which the farm maps per host.
"""
from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from dubkernels.errors import DubKernelsError
from dubkernels.farm.roots import Root, argument, rooted, shot_roots
from dubkernels.io.sequences import resolve_sequence
from dubkernels.jobs.kinds import job_kind
from dubkernels.jobs.spec import save_job
from dubkernels.pipeline.shot import Shot

TRAINING_KINDS = ("train", "train_sr")
NETWORK_KINDS = ("identity_swap", "face_sr")  # inference on the shot's device: a GPU host unless it is the CPU
CHUNK = "{chunk}"  # where a front end puts its chunk's frame range in a step's arguments


class FarmError(DubKernelsError):
    """A shot that cannot go to a farm as it is (a relative path, no engine command)."""


@dataclass
class FarmStep:
    """One farm step: the engine arguments of its tasks, what it waits for, and how it is split."""

    name: str
    kind: str
    args: list[str]
    needs: list[str] = field(default_factory=list)
    chunked: bool = False
    gpu: bool = False
    help: str = ""
    nuke_render: dict[str, str] | None = None  # a `nuke -x` render: {"script": ..., "write": ..., "version": ...}
    tool: str = "Engine"  # the command its tasks run: the plan's engine, or one of its other tools


@dataclass
class FarmPlan:
    """A shot's steps for a farm, the frames its chunked steps cover, and the command its tasks run on the workers
    (``dubkernels``, or Nuke for a Nuke script's job) with the environment they need."""

    name: str
    work: Path
    frames: list[int]
    engine: str
    steps: list[FarmStep]
    ocio: str = "ocio://default"  # $OCIO on the workers; "" leaves theirs (a Nuke script's own colour management)
    engine_help: str = "absolute path of the dubkernels command on the workers (in the engine's venv)"
    environment: dict[str, str] = field(default_factory=dict)
    roots: list[Root] = field(default_factory=list)  # the folders the steps' paths are relative to
    tools: dict[str, tuple[str, str]] = field(default_factory=dict)  # other commands: name -> (path, help)
    notes: list[str] = field(default_factory=list)  # what the preflight noted (a frame rate assumed...)

    def command(self, step: FarmStep) -> str:
        """The executable a step's tasks run."""
        return self.engine if step.tool == "Engine" else self.tools[step.tool][0]

    def step(self, name: str) -> FarmStep:
        return next(s for s in self.steps if s.name == name)


def default_engine() -> str:
    """The `dubkernels` command of this installation (its virtual environment's, when there is one)."""
    beside = Path(sys.executable).parent / ("dubkernels.exe" if os.name == "nt" else "dubkernels")
    found = str(beside) if beside.is_file() else shutil.which("dubkernels")
    if not found:
        raise FarmError("cannot find the dubkernels command; give the workers' one with --engine PATH.")
    return str(Path(found).absolute())


def shot_frames(shot: Shot) -> list[int]:
    """The actor's frames: the shot's range, else the plate's frames, else the video's (from frame 1001)."""
    if shot.frames:
        from dubkernels.io.sequences import parse_frames

        return parse_frames(shot.frames)
    if shot.actor.is_video:
        from dubkernels.io.video import clip_frame_count
        from dubkernels.jobs.params import IngestParams

        start = int(shot.stages.get("ingest", {}).get("start", IngestParams().start))
        return list(range(start, start + clip_frame_count(shot.actor.source)))
    return list(resolve_sequence(shot.actor.source).frames)


def _check_absolute(name: str, paths: dict[str, str]) -> None:
    for port, value in paths.items():
        if "://" not in value and not os.path.isabs(value):
            raise FarmError(f"step {name}: {port} = {value} is a relative path, which a farm worker would resolve "
                            "in its own folder; give the shot absolute paths on shared storage.")


def plan_farm(shot: Shot, engine: str | None = None) -> FarmPlan:
    """The farm steps of a shot; writes the job specs (``WORK/jobs/``) and the report's manifest."""
    from dubkernels.pipeline.dub import write_manifest
    from dubkernels.pipeline.ownership import shot_record
    from dubkernels.pipeline.preflight import preflight
    from dubkernels.pipeline.graph import build_graph

    command = engine or default_engine()
    if not os.path.isabs(command):
        raise FarmError(f"--engine {command} is relative; give the absolute path of dubkernels on the workers.")
    notes = preflight(shot)  # what dub refuses, the farm refuses too: before a job that can only fail is written
    graph = build_graph(shot)
    ocio = shot.ocio or os.environ.get("OCIO") or "ocio://default"  # the workers use this machine's config
    named = [v for s in graph.steps for v in (*s.job.inputs.values(), *s.job.outputs.values())]
    named += [v for job in graph.deliveries.values() for v in (*job.inputs.values(), *job.outputs.values())]
    named += [*graph.files.values(), ocio, str(shot.lpips_model or ""), str(shot.fid_model or "")]
    roots = shot_roots(shot, [v for v in named if v])
    outside = lambda value: rooted(value, roots)  # noqa: E731
    steps = []
    for step in graph.steps:
        _check_absolute(step.name, {**step.job.inputs, **step.job.outputs})
        save_job(step.job, shot.work / "jobs" / f"{step.name}.json", root=shot.work, outside=outside)
        chunked = job_kind(step.job.stage).per_frame
        args = ["run", f"{{root:Work}}/jobs/{step.name}.json", "--progress", "none"]
        gpu = step.job.stage in TRAINING_KINDS or (step.job.stage in NETWORK_KINDS and shot.device != "cpu")
        steps.append(FarmStep(step.name, step.job.stage, args + (["--chunk", CHUNK] if chunked else []),
                              list(step.needs), chunked, gpu, step.help))
    write_manifest(shot.work, shot.name, graph, deliver=shot.deliver, shot=shot_record(shot), outside=outside)
    report = ["report", "{root:Work}", "--progress", "none"]
    for flag, value in (("--lpips-model", shot.lpips_model), ("--fid-model", shot.fid_model)):
        report += [flag, argument(str(value), roots)] if value else []
    steps.append(FarmStep("report", "report", report,
                          [s.name for s in graph.steps], help="the shot report: metrics, curves, contact sheet, "
                                                              "review movie"))
    for result, job in graph.deliveries.items():
        _check_absolute(f"deliver_{result}", {**job.inputs, **job.outputs})
    steps.append(FarmStep("deliver", "deliver", ["deliver", "{root:Work}", "--progress", "none", "--chunk", CHUNK],
                          ["report"], True, help="the shot's output: the candidate the report ranked best (or the "
                                                 "shot's pin) composited over the whole plate"))
    return FarmPlan(shot.name, shot.work, shot_frames(shot), command, steps, ocio, roots=roots, notes=notes)
