"""A small analysed sample shot shared by the stage tests."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dubkernels.analysis import analyze_sequence
from dubkernels.io.sequences import resolve_sequence
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
