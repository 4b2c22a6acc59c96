"""Tiny network configs (two iterations, 32 px) and a shot file that uses them: the whole two-pass dub of the
sample shot in about a minute on CPU."""
from __future__ import annotations

import json
from pathlib import Path

from dubkernels.pipeline.shot import template
from dubkernels.sample import SampleShot, make_sample

TINY = {"name": "tiny", "model": {"resolution": 32, "widths": [8, 16, 32]},
        "train": {"batch_size": 2, "iterations": 2, "checkpoint_every": 1, "preview_every": 1000}}
TINY_SR = {"name": "tiny_sr", "arch": "face_sr", "model": {"resolution": 32, "scale": 2, "channels": 8, "blocks": 1},
           "train": {"batch_size": 2, "iterations": 2, "checkpoint_every": 1, "preview_every": 1000}}


def write_tiny_configs(root: Path) -> tuple[Path, Path]:
    """root/tiny.json and root/tiny_sr.json."""
    (root / "tiny.json").write_text(json.dumps(TINY))
    (root / "tiny_sr.json").write_text(json.dumps(TINY_SR))
    return root / "tiny.json", root / "tiny_sr.json"


def tiny_shot_text(root: Path, actor: str, dubber: str, work: str, output: str) -> str:
    """A shot file dubbing actor/dubber with the tiny configs (written by :func:`write_tiny_configs` in root);
    training in the main process (workers 0), per-frame work in one process."""
    text = template(actor, dubber)
    text = text.replace('preset = "preview"', f'preset = "{root / "tiny.json"}"', 1).replace(
        'sr_preset = ""', f'sr_preset = "{root / "tiny_sr.json"}"').replace(
        'work = "work"', f'work = "{work}"').replace('output = "final/final.####.exr"', f'output = "{output}"')
    return text.replace("workers = 0 ", "workers = 1 ").replace("workers = -1 ", "workers = 0 ")


def tiny_sample(root: Path, frames: int) -> tuple[Path, SampleShot]:
    """The synthetic sample shot under root/sample, and the tiny configs in root."""
    made = make_sample(root / "sample", frames)
    write_tiny_configs(root)
    return root, made
