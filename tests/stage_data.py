"""A small analysed sample shot shared by the stage tests."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dubkernels.analysis import analyze_sequence
from dubkernels.io.sequences import resolve_sequence
from dubkernels.jobs.spec import Job
from dubkernels.pipeline.runner import run_job
from dubkernels.sample import make_sample
from dubkernels.tracks import save_track


@dataclass
class Shot:
    actor: str
    actor_track: str
    dubber: str
    dubber_track: str
    frames: list[int]


def make_shot(folder: Path, frames: int = 6) -> Shot:
    """The sample actor/dubber pair with their tracks."""
    sample = make_sample(folder, frames)
    tracks = {}
    for name in ("actor", "dubber"):
        path = folder / f"{name}.track.json"
        save_track(analyze_sequence(resolve_sequence(getattr(sample, name))), path)
        tracks[name] = str(path)
    return Shot(sample.actor, tracks["actor"], sample.dubber, tracks["dubber"], sample.frames)


@dataclass
class Layered:
    """The sample pair, and the dubber's PoseAlign face layer with its (guided) track."""

    shot: Shot
    face: str
    face_track: str


def make_layered(root: Path, frames: int = 4) -> Layered:
    """The sample shot and a face layer to run face-layer stages on."""
    shot = make_shot(root, frames=frames)
    face, landmarks = str(root / "pa" / "pa.####.exr"), str(root / "pa.landmarks.json")
    run_job(Job("pose_align", {"actor": shot.actor, "actor_track": shot.actor_track, "dubber": shot.dubber,
                               "dubber_track": shot.dubber_track}, {"out": face, "landmarks": landmarks}), workers=1)
    run_job(Job("analyze", {"plate": face, "guide": landmarks}, {"out": str(root / "pa.track.json")}))
    return Layered(shot, face, str(root / "pa.track.json"))
