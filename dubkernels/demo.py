"""The demo shot: build the sample, analyze both takes, preview them, and score the landmarks.

Until the full pipeline exists this is the main job: it shows the foundation working end to end
on data that ships with the install (no download).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np

from dubkernels.analysis import analyze_sequence
from dubkernels.colour import ColourSpaces
from dubkernels.face.landmarks68 import MOUTH, interocular
from dubkernels.io.sequences import resolve_sequence
from dubkernels.preview import PreviewResult, render_preview
from dubkernels.sample import make_sample
from dubkernels.tracks import Track, save_track

TAKES = ("actor", "dubber")


@dataclass
class TakeReport:
    name: str
    pattern: str
    track: Path
    preview: PreviewResult
    counts: dict[str, int]
    mouth_error_iod: float  # mean distance of detected mouth points to the truth, in interocular units
    notes: list[str]


@dataclass
class DemoReport:
    outdir: Path
    truth: Path
    takes: list[TakeReport]


def mouth_error(track: Track, truth_landmarks: dict[str, list]) -> float:
    """Mean distance of the track's mouth landmarks to the truth, in units of the true IOD."""
    errors = []
    for rec in track.records:
        true = np.asarray(truth_landmarks[str(rec.frame)])
        if rec.landmarks is not None:
            mouth = list(MOUTH)
            errors.append(np.linalg.norm(rec.landmarks[mouth] - true[mouth], axis=1).mean() / interocular(true))
    return float(np.mean(errors)) if errors else float("nan")


def run_demo(
    outdir: str | Path,
    frames: int = 24,
    start: int = 1001,
    colour: ColourSpaces | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> DemoReport:
    """Write the sample shot, tracks and previews under ``outdir``; ``progress(step, n)`` reports work done."""
    colour = colour or ColourSpaces()
    outdir = Path(outdir)
    tick = (lambda step: (lambda n: progress(step, n))) if progress else (lambda step: None)
    shot = make_sample(outdir, frames, start, colour=colour, progress=tick("sample"))
    truth = json.loads(shot.truth.read_text())
    reports = []
    for name in TAKES:
        pattern = getattr(shot, name)
        sequence = resolve_sequence(pattern)
        track = analyze_sequence(sequence, colour=colour, progress=tick(f"analyze {name}"))
        track_path = outdir / f"{name}.track.json"
        save_track(track, track_path)
        preview = render_preview(sequence, track, outdir / "preview", colour=colour, name=name,
                                 fps=Fraction(truth["fps"]), progress=tick(f"preview {name}"))
        reports.append(TakeReport(name, pattern, track_path, preview, track.counts(),
                                  mouth_error(track, truth[name]["landmarks"]), track.notes))
    return DemoReport(outdir, shot.truth, reports)
