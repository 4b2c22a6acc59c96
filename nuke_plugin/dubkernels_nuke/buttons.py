"""The buttons of the DubKernels nodes: Process (Analyze), Train, Open report, Reveal cache, Landmarks.

A press exports the node's inputs through its internal Writes (``nuke.execute``, in the main
thread), writes its job specs into the cache folder, then runs them with the engine. In the GUI
the engine runs on a worker thread with a ``nuke.ProgressTask`` (Cancel stops it; what it
finished is kept) and everything that touches the UI goes through ``nuke.executeInMainThread``;
in terminal mode (``nuke -t``) it runs in line and errors are raised. Errors reach the user as
a Nuke message that names the node and says what to fix.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, cast

import nuke

from dubkernels_nuke import engine, landmarks
from dubkernels_nuke.describe import kinds
from dubkernels_nuke.dknode import DKNode, Plan, PluginError, is_dubkernels
from dubkernels_nuke.frames import frames_on_disk
from dubkernels_nuke.paths import write_atomically
from dubkernels_nuke.state import refresh, write_state

_running: dict[str, threading.Thread] = {}
stop_requested = threading.Event()  # set by a terminal-mode SIGTERM (a farm's cancel): the engine is stopped too


class ButtonError(RuntimeError):
    """A button's error in terminal mode (`nuke -t`), raised with the text a GUI user would see."""


def press(node: nuke.Node, action: str) -> threading.Thread | None:
    """What a node's button does; in the GUI returns the worker thread running the engine."""
    name = node.name()
    try:
        if action in ("process", "train"):
            return run_action(node, action)
        if action == "open_report":
            return open_report(node)
        if action == "reveal_cache":
            reveal(DKNode(node).cache_folder())
        elif action.startswith("lm_"):
            landmarks.press(node, action)
        else:
            raise PluginError(f"{name}: unknown button {action}")
    except ButtonError:
        raise
    except (PluginError, engine.EngineError) as exc:
        show_error(name, str(exc))
    except (OSError, RuntimeError) as exc:  # a file that cannot be written, an export Nuke could not render
        show_error(name, f"{type(exc).__name__}: {exc}")
    return None


def show_error(name: str, text: str) -> None:
    """An error for the user: a Nuke message in the GUI, an exception in terminal mode (farm logs show it)."""
    message = text if text.startswith(name) else f"{name}: {text}"
    if nuke.GUI:
        nuke.executeInMainThread(nuke.message, (message,))
    else:
        raise ButtonError(message)


def bits_of(node: nuke.Node | None, frame: int) -> str:
    """What Nuke's metadata says of the pixels ``node`` delivers (``input/bitsperchannel``: "16-bit half float",
    "32-bit float"...); empty when it says nothing."""
    return str(node.metadata("input/bitsperchannel", frame) or "") if node is not None else ""


def export_datatype(write: nuke.Node, frame: int) -> str:
    """An export Write's datatype: its input's own, so a float plate stays bit for bit; 32-bit float where
    Nuke does not say (never a quantised plate)."""
    return "16 bit half" if "half" in bits_of(write.input(0), frame) else "32 bit float"


def export_inputs(dk: DKNode, plan: Plan) -> None:
    """Render each input that is not a DubKernels node through the node's internal Write (raw EXR)."""
    group = cast(nuke.Group, dk.node)
    for feed, write_name, pattern, (first, last) in plan.exports:
        write = group.node(write_name)
        if write is None:
            raise PluginError(f"{dk.name}: its gizmo has no {write_name}; update the DubKernels gizmos.")
        Path(pattern).parent.mkdir(parents=True, exist_ok=True)
        write["file"].setValue(pattern)
        write["datatype"].setValue(export_datatype(write, first))
        write["disable"].setValue(False)
        try:
            nuke.execute(write, first, last)
        finally:
            write["disable"].setValue(True)


def write_jobs(dk: DKNode, plan: Plan) -> list[Path]:
    """Write the plan's job specs into the cache folder (atomically); returns their paths."""
    paths = []
    for name, spec in plan.jobs:
        path = dk.layout.job(name)
        write_atomically(path, json.dumps(spec, indent=2) + "\n")
        paths.append(path)
    return paths


class Progress:
    """Engine progress shown in a nuke.ProgressTask (GUI) or printed (terminal)."""

    def __init__(self, title: str, jobs: int):
        self.task: Any = nuke.ProgressTask(title) if nuke.GUI else None
        self.jobs, self.index = jobs, 0

    def job(self, index: int, name: str) -> None:
        self.index = index
        self.say(f"{name} ({index + 1}/{self.jobs})", 0)

    def say(self, text: str, percent: int) -> None:
        overall = int(100 * (self.index + percent / 100) / max(1, self.jobs))
        if self.task is not None:
            self.task.setMessage(text)
            self.task.setProgress(overall)
        else:
            print(f"[{overall:3d}%] {text}", flush=True)

    def event(self, event: engine.Event) -> None:
        detail = f"{event.step} {event.done}/{event.total}" if event.total else event.step
        if event.message:
            detail += f": {event.message}"
        self.say(detail, event.percent)

    def cancelled(self) -> bool:
        return stop_requested.is_set() or bool(self.task is not None and self.task.isCancelled())


def only_chunk(plan: Plan, chunk: tuple[int, int]) -> Plan:
    """The part of a plan one farm chunk does: its frames' exports and the per-frame jobs (run with --chunk)."""
    exports = [(feed, write, pattern, (max(first, chunk[0]), min(last, chunk[1])))
               for feed, write, pattern, (first, last) in plan.exports if max(first, chunk[0]) <= min(last, chunk[1])]
    return Plan(exports, [(name, spec) for name, spec in plan.jobs if kinds()[spec["stage"]]["per_frame"]])


def check_upstream(dk: DKNode) -> None:
    """The DubKernels nodes this one reads must be up to date now, looked at afresh: a script may have set their
    knobs, which before Nuke 17.1 fires no knobChanged while the panel is closed, so no mark shows it."""
    for feed in dk.spec.feeds:
        up = dk.input_node(feed.name)
        if up is not None and is_dubkernels(up):
            now = refresh(up)
            if now.state == "stale":
                raise PluginError(f"{dk.name}: its input '{feed.name}' comes from {up.name()}, which is stale "
                                  f"({now.why}); press Process on {up.name()} first.")


MAIN_JOBS = {"process": "process", "train": "train"}  # each button's main job: what --prepare leaves to the engine


def run_action(node: nuke.Node, action: str, chunk: tuple[int, int] | None = None,
               prepare: bool = False) -> threading.Thread | None:
    """Process or Train: plan, export, write the job specs, run them; then show the result.

    ``chunk`` (first, last) does only that chunk of the per-frame work (a farm task); the node's whole Process
    afterwards skips the frames done and tracks the result. ``prepare`` (a farm's Nuke step) exports, writes the
    job specs and runs only the jobs before the button's main one (``CACHE/jobs/process.json`` or ``train.json``),
    which a farm step then runs with `dubkernels run` on an engine host, holding no Nuke licence.
    """
    dk = DKNode(node)
    name = dk.name
    if _running.get(dk.name) and _running[dk.name].is_alive():
        raise PluginError(f"{dk.name} is already running; wait for it or cancel it.")
    check_upstream(dk)
    plan = dk.process_plan() if action == "process" else dk.train_plan()
    if chunk is not None:
        plan = only_chunk(plan, chunk)
    command = engine.engine_command()
    export_inputs(dk, plan)
    paths = write_jobs(dk, plan)
    frames = f"{chunk[0]}-{chunk[1]}" if chunk else None
    if prepare:
        names = [job_name for job_name, _ in plan.jobs]
        paths = paths[:names.index(MAIN_JOBS[action])] if MAIN_JOBS[action] in names else paths

    def work() -> None:
        progress = Progress(f"{dk.name}: {action}", len(paths))
        start = time.monotonic()
        try:
            for index, path in enumerate(paths):
                progress.job(index, path.stem)
                engine.run_job(path, progress.event, progress.cancelled, chunk=frames, command=command,
                               own_group=nuke.GUI)
        except (engine.EngineError, OSError) as exc:  # OSError: the engine could not be started
            finish(node, None)
            show_error(name, str(exc))
            return
        finally:
            progress.task = None  # closes Nuke's progress bar
        finish(node, None if chunk or prepare else (action, plan.jobs, time.monotonic() - start))

    if not nuke.GUI:
        work()
        return None
    thread = threading.Thread(target=work, name=f"dubkernels {dk.name}", daemon=True)
    _running[dk.name] = thread
    thread.start()
    return thread


def finish(node: nuke.Node, done: tuple[str, list[tuple[str, dict[str, Any]]], float] | None) -> None:
    """Record a finished run and show its result (in the main thread when the GUI is up)."""
    def update() -> None:
        dk = DKNode(node)
        if done is not None:  # a failed or cancelled run leaves the node showing what it showed
            write_state(dk, *done)
            show_result(dk)
        refresh(node)

    if nuke.GUI:
        nuke.executeInMainThread(update)
    else:
        update()


def show_result(dk: DKNode) -> None:
    """Point the internal Read at the cached frames and switch the node to them."""
    if not dk.spec.makes_layer:
        landmarks.refresh_flagged(dk)
        return
    frames = frames_on_disk(dk.layout.out)
    if not frames:
        dk.node["dk_processed"].setValue(False)
        return
    dk.node["dk_first"].setValue(frames[0])
    dk.node["dk_last"].setValue(frames[-1])
    dk.node["dk_processed"].setValue(True)
    read = cast(nuke.Group, dk.node).node("Cache")
    if read is not None:
        cast(nuke.Script_Knob, read["reload"]).execute()


def open_report(node: nuke.Node) -> threading.Thread | None:
    """A contact sheet of the node's result with its landmarks and masks (`dubkernels preview`), opened; in the
    GUI it is made on a worker thread, so Nuke stays responsive."""
    dk = DKNode(node)
    result = dk.result()
    if not Path(result.track).is_file():
        raise PluginError(f"{dk.name}: nothing to show yet; press {'Analyze' if not dk.spec.makes_layer else 'Process'}.")
    out, name = dk.layout.report, dk.name
    args = engine.engine_command() + ["preview", result.frames, "--track", result.track, "--out", str(out)]

    def make() -> None:
        done = subprocess.run(args, capture_output=True, text=True, encoding="utf-8", env=engine.engine_environment())
        if done.returncode != 0:
            show_error(name, engine.RunResult(done.returncode, said=done.stderr.splitlines()).error_text())
            return
        sheets = sorted(out.glob("*.png"))
        if nuke.GUI:
            nuke.executeInMainThread(reveal, (sheets[0] if sheets else out,))
        else:
            reveal(sheets[0] if sheets else out)

    if not nuke.GUI:
        make()
        return None
    thread = threading.Thread(target=make, name=f"dubkernels report {name}", daemon=True)
    thread.start()
    return thread


def reveal(path: Path) -> None:
    """Open a file or folder with the desktop's application for it."""
    if not path.exists():
        raise PluginError(f"{path} does not exist yet; press Process first.")
    opener: Callable[[str], Any]
    if sys.platform == "darwin":
        opener = lambda p: subprocess.Popen(["open", p], env=engine.engine_environment())  # noqa: E731
    elif sys.platform == "win32":
        opener = getattr(os, "startfile")
    else:
        opener = lambda p: subprocess.Popen(["xdg-open", p], env=engine.engine_environment())  # noqa: E731
    opener(str(path))
