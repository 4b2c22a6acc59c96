"""The demo: a real dub with its report, on the built-in sample shot or on any pair of clips.

The sample shot (``dubkernels sample``) ships with the install, so the demo downloads nothing.
It writes a shot file and runs it like ``dubkernels dub`` would: the actor's own mouth on the dubber's, with
no training; with ``learned`` also the paper's learned passes, with the CPU-sized network and a bounded training
time, so it finishes in minutes on a laptop.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from dubkernels.pipeline.shot import Shot, load_shot, template

DEMO_TRAIN_MINUTES = 2.0  # per pass, on the sample shot


def write_shot_file(path: Path, actor: str, dubber: str, minutes: float, ocio: str | None = None,
                    learned: bool = False) -> Path:
    """A shot file for the demo: the template with the takes, the preview network, and with ``learned`` its
    learned passes with a time budget.

    Work folder and output are the template's, relative to the shot file: OUTDIR/work, OUTDIR/final.
    """
    text = template(actor, dubber).replace('name = "shot"', 'name = "demo"', 1)
    text = text.replace('minutes = 0.0 ', f'minutes = {minutes} ', 1)
    text = text.replace('sr_minutes = 0.0 ', f'sr_minutes = {minutes / 2} ', 1)  # FaceSR: half a pass's budget
    if ocio:
        text = text.replace('ocio = ""', f'ocio = "{ocio}"', 1)
    if learned:
        text = text.replace('learned = "auto"', 'learned = "on"', 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def _from_folder(path: str, folder: Path) -> str:
    """``path`` relative to ``folder`` where it lies inside it (the demo's own sample: the folder can move), else
    absolute (the user's clips stay where they are)."""
    absolute, folder = Path(path).resolve(), folder.resolve()
    return str(absolute.relative_to(folder)) if folder in absolute.parents else str(absolute)


def demo_shot(outdir: Path, count: int, start: int, actor: str | None = None, dubber: str | None = None,
              minutes: float = DEMO_TRAIN_MINUTES, progress: Callable[[int], None] | None = None,
              ocio: str | None = None, learned: bool = False) -> tuple[Shot, dict[str, str]]:
    """The demo's shot (making the sample shot unless clips are given) and the extra files the report reads."""
    extra: dict[str, str] = {}
    if actor is None or dubber is None:
        from dubkernels.colour import ColourSpaces
        from dubkernels.sample import make_sample

        sample = make_sample(outdir / "sample", count, start, colour=ColourSpaces(ocio), progress=progress)
        actor, dubber = sample.actor, sample.dubber
        extra["truth"] = str(sample.truth)
    actor, dubber = _from_folder(actor, outdir), _from_folder(dubber, outdir)
    path = write_shot_file(outdir / "shot.toml", actor, dubber, minutes, str(Path(ocio).resolve()) if ocio and
                           "://" not in ocio else ocio, learned)
    return load_shot(path), extra
