"""Render checks: a Write fed by a DubKernels node without its cached frames fails, naming the fix.

Registered by ``init.py`` (so ``nuke -x`` runs them) before each render and each frame of a
Write. A DubKernels node that was never processed, or whose cache no longer fits its knobs and
inputs, or that lacks the frame being rendered, stops the render with an error naming the node
and the command that fills its cache: never a black or unprocessed frame.
"""
from __future__ import annotations

import nuke

from dubkernels_nuke import engine
from dubkernels_nuke.dknode import DKNode, PluginError, is_dubkernels
from dubkernels_nuke.frames import frame_path
from dubkernels_nuke.state import status


def feeding(node: nuke.Node) -> list[DKNode]:
    """The DubKernels nodes whose caches a render of ``node`` reads (not looking past them; Analyze passes)."""
    found: list[DKNode] = []
    seen: set[str] = set()
    todo = [node.input(i) for i in range(node.inputs())]
    while todo:
        current = todo.pop()
        if current is None or current.fullName() in seen:
            continue
        seen.add(current.fullName())
        if is_dubkernels(current) and DKNode(current).spec.makes_layer:
            found.append(DKNode(current))
            continue
        todo += [current.input(i) for i in range(current.inputs())]
    return found


def _command() -> str:
    try:
        return " ".join(engine.engine_command())
    except engine.EngineError:
        return "dubkernels"


def fill_command(dk: DKNode) -> str:
    """How to fill a node's cache: the engine commands of its jobs (written now), else its Process button."""
    from dubkernels_nuke.buttons import write_jobs  # buttons imports the UI helpers; only needed here

    try:
        plan = dk.process_plan()
    except PluginError as exc:
        return f"fix this first: {exc}"
    if plan.exports:
        return f"open {dk.name} in Nuke and press Process (its inputs must be exported through Nuke)"
    paths = write_jobs(dk, plan)
    return " && ".join(f"{_command()} run {path}" for path in paths)


def before_render() -> None:
    """Every DubKernels node the Write reads must be processed and up to date; each then shows its cache (a
    script saved before its nodes were processed, as on a farm, renders what the caches hold)."""
    from dubkernels_nuke.buttons import show_result

    for dk in feeding(nuke.thisNode()):
        now = status(dk)
        if now.state != "processed":
            raise RuntimeError(f"DubKernels: {dk.name} is {now.state} ({now.why}); its cache cannot be rendered. "
                               f"Fill it with: {fill_command(dk)}")
        show_result(dk)


def before_frame() -> None:
    """Every DubKernels node the Write reads must have this frame in its cache."""
    frame = nuke.frame()
    for dk in feeding(nuke.thisNode()):
        path = frame_path(dk.layout.out, frame)
        if not path.is_file():
            job = dk.layout.job("process")
            raise RuntimeError(f"DubKernels: {dk.name} has no cached frame {frame} ({path}). Fill it with: "
                               f"{_command()} run {job} --frames {frame}")
