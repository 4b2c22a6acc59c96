"""What a node last ran, whether its cache still fits its knobs and inputs, and how the node shows it.

After a button's jobs succeed, the node's ``state.json`` records their specs and the time. A
node is *stale* when the jobs its knobs and inputs would write now differ from those (a
result-changing knob moved, an input was rewired) or when a node it reads, or its own
training, finished after it. The Info tab, the tile colour and the render check read this.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nuke

from dubkernels_nuke.describe import kinds
from dubkernels_nuke.dknode import DKNode, PluginError, is_dubkernels
from dubkernels_nuke.frames import frames_on_disk, range_text
from dubkernels_nuke.paths import write_atomically

COLOURS = {"processed": 0x3F7F3FFF, "stale": 0xB8741AFF, "not processed": 0x7B4FA0FF}


def read_state(dk: DKNode) -> dict[str, Any]:
    path = dk.layout.state
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(dk: DKNode, action: str, jobs: list[tuple[str, dict[str, Any]]], seconds: float) -> None:
    """Record a finished button press (atomically: a temp file renamed over the old state)."""
    state = read_state(dk)
    state[action] = {"jobs": dict(jobs), "finished": time.time(), "seconds": round(seconds, 1)}
    write_atomically(dk.layout.state, json.dumps(state, indent=1))


def _result_changing(spec: dict[str, Any]) -> dict[str, Any]:
    """A job spec without the parameters that do not change its result (batch, workers, time budgets)."""
    keep = {p["name"] for p in kinds()[spec["stage"]]["params"] if p.get("changes_result", True)}
    return dict(spec, params={k: v for k, v in spec.get("params", {}).items() if k in keep})


@dataclass
class Status:
    """A node's state: 'processed', 'stale' or 'not processed', why, and its frames on disk."""

    state: str
    why: str
    done: list[int]
    finished: float | None = None
    seconds: float | None = None


def status(dk: DKNode) -> Status:
    """Where a node stands now (cheap: file checks and job comparison, no engine run)."""
    try:
        layout = dk.layout
    except PluginError as exc:
        return Status("not processed", str(exc), [])
    done = frames_on_disk(layout.export("plate") if not dk.spec.makes_layer else layout.out)
    record = read_state(dk).get("process")
    result = dk.result()
    if not record or not Path(result.track).is_file():
        return Status("not processed", "press " + ("Analyze" if not dk.spec.makes_layer else "Process"), done)
    finished, seconds = record.get("finished"), record.get("seconds")
    try:
        planned = dk.process_plan().jobs
    except PluginError as exc:
        return Status("stale", str(exc), done, finished, seconds)
    stored = record.get("jobs", {})
    for name, spec in planned:
        if name not in stored or _result_changing(stored[name]) != _result_changing(spec):
            return Status("stale", f"its settings or inputs changed since it ran ({name})", done, finished, seconds)
    for feed in (f for f in dk.spec.feeds if not f.train_only):
        up = dk.input_node(feed.name)
        if is_dubkernels(up):
            assert up is not None
            other = read_state(DKNode(up)).get("process") or {}
            if other.get("finished", 0) > (finished or 0):
                return Status("stale", f"{up.name()} ran again after it", done, finished, seconds)
    overrides = dk.layout.overrides
    if not dk.spec.makes_layer and overrides.is_file() and overrides.stat().st_mtime > (finished or 0):
        return Status("stale", "landmark fixes were saved after it ran", done, finished, seconds)
    trained = (read_state(dk.sr_source() if dk.spec.train == "train_sr" else dk).get("train") or {}).get("finished")
    if dk.spec.train and trained and trained > (finished or 0):
        return Status("stale", "trained again after it ran", done, finished, seconds)
    return Status("processed", "up to date", done, finished, seconds)


def info_text(dk: DKNode, now: Status) -> str:
    """The Info tab's text."""
    lines = [f"state: {now.state} ({now.why})"]
    if now.finished:
        lines.append(f"last run: {time.strftime('%Y-%m-%d %H:%M', time.localtime(now.finished))}, "
                     f"{now.seconds} s")
    lines.append(f"frames on disk: {range_text(now.done) or 'none'} ({len(now.done)})")
    try:
        expected = expected_frames(dk)
    except PluginError:
        expected = []
    missing = sorted(set(expected) - set(now.done))
    if expected:
        lines.append(f"frames missing: {range_text(missing) or 'none'}")
    try:
        lines.append(f"job spec: {dk.layout.job('process' if dk.spec.makes_layer else 'analyze_plate')}")
    except PluginError:
        pass
    return "\n".join(lines)


def expected_frames(dk: DKNode) -> list[int]:
    """The frames the node's result should have: its frame range, else its main input's."""
    frames = dk.frames_arg()
    if frames:
        first, _, last = frames.partition("-")
        return list(range(int(first), int(last) + 1))
    main = dk.input_node(dk.spec.inputs[0])
    if main is None:
        return []
    if is_dubkernels(main):
        return frames_on_disk(DKNode(main).result().frames)
    return list(range(main.firstFrame(), main.lastFrame() + 1))


def refresh(node: nuke.Node) -> Status:
    """Update the Info tab and the tile colour of a node from its state; returns the state."""
    dk = DKNode(node)
    now = status(dk)
    node["info"].setValue(info_text(dk, now))
    node["tile_color"].setValue(COLOURS[now.state])
    return now
