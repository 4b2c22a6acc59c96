"""Where the plugin's files are, and the layout of a node's cache folder (no `nuke` import).

A node's cache folder (its ``cache`` knob)::

    CACHE/jobs/NAME.json          the job specs the node ran (process, train, analyze_out...)
    CACHE/inputs/INPUT.####.exr   inputs exported through the node's internal Write
    CACHE/inputs/INPUT.track.json their tracks (when the input is not a DubKernels node)
    CACHE/out/out.####.exr        the node's result, which its internal Read shows
    CACHE/out/out.track.json      the result's track (what the next node reads)
    CACHE/train/                  training runs: checkpoints, loss.jsonl, previews
    CACHE/state.json              what the node last ran and when (the Info tab and stale marks)

An Analyze node's result is its input: ``CACHE/inputs/plate.####.exr`` and ``CACHE/track.json``.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = PLUGIN_DIR.parent
GIZMO_DIR = REPO_DIR / "gizmos"
DESCRIBE_FILE = GIZMO_DIR / "dubkernels_describe.json"
TEMPLATE_FILE = PLUGIN_DIR / "templates" / "two_pass_dub.nk"
PROCESS_SCRIPT = REPO_DIR / "scripts" / "dub_process.py"  # a node's Process, headless (`nuke -t`)
CACHE_DEFAULT_FOLDER = "dubkernels_cache"


def write_atomically(path: Path, text: str) -> None:
    """Write a text file through a unique temporary file renamed over it (two writers never clash)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def input_export_name(feed: str) -> str:
    """The name of the internal Write that exports input ``feed``."""
    return f"Export_{feed}"


def cache_frames_expression() -> str:
    """The internal Read's file knob: the result frames under the gizmo's cache knob (TCL)."""
    return "[value parent.cache]/out/out.####.exr"


class CacheLayout:
    """The files of one node's cache folder."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def job(self, name: str) -> Path:
        return self.folder / "jobs" / f"{name}.json"

    def export(self, feed: str) -> Path:
        return self.folder / "inputs" / f"{feed}.####.exr"

    def export_track(self, feed: str) -> Path:
        return self.folder / "inputs" / f"{feed}.track.json"

    @property
    def out(self) -> Path:
        return self.folder / "out" / "out.####.exr"

    @property
    def out_track(self) -> Path:
        return self.folder / "out" / "out.track.json"

    @property
    def out_landmarks(self) -> Path:
        return self.folder / "out" / "out.landmarks.json"

    @property
    def mask(self) -> Path:
        return self.folder / "mask" / "mask.####.exr"

    @property
    def actor_render(self) -> Path:
        return self.folder / "actor_render" / "par.####.exr"

    @property
    def actor_render_landmarks(self) -> Path:
        return self.folder / "actor_render" / "par.landmarks.json"

    @property
    def actor_render_track(self) -> Path:
        return self.folder / "actor_render" / "par.track.json"

    @property
    def track(self) -> Path:
        """An Analyze node's track of its plate."""
        return self.folder / "track.json"

    @property
    def overrides(self) -> Path:
        """An Analyze node's hand-fixed landmarks (the Landmarks tab writes it)."""
        return self.folder / "overrides.json"

    @property
    def train(self) -> Path:
        return self.folder / "train"

    @property
    def checkpoint(self) -> Path:
        return self.folder / "train" / "latest.safetensors"

    @property
    def report(self) -> Path:
        return self.folder / "report"

    @property
    def state(self) -> Path:
        return self.folder / "state.json"
