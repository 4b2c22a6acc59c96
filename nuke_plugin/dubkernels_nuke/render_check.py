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
from dubkernels_nuke.paths import PROCESS_SCRIPT
from dubkernels_nuke.state import refresh


def _feeds(node: nuke.Node) -> list[nuke.Node | None]:
    """What a render of ``node`` pulls: a Group's (not a DubKernels node's) Output inside it, a Group's Input
    node the Group's own input, else the node's inputs."""
    if node.Class() == "Input":
        group = node.parent()
        return [group.input(int(node["number"].value()))] if group is not None and group.Class() != "Root" else []
    if isinstance(node, nuke.Group) and not is_dubkernels(node):
        return [node.output()]
    return [node.input(i) for i in range(node.inputs())]


def feeding(node: nuke.Node) -> list[DKNode]:
    """The DubKernels nodes whose caches a render of ``node`` reads, inside Groups too (not looking past them;
    Analyze passes)."""
    found: list[DKNode] = []
    seen: set[str] = set()
    todo = _feeds(node)
    while todo:
        current = todo.pop()
        if current is None or current.fullName() in seen:
            continue
        seen.add(current.fullName())
        if is_dubkernels(current) and DKNode(current).spec.makes_layer:
            found.append(DKNode(current))
            continue
        todo += _feeds(current)
    return found


def _command() -> str:
    try:
        return " ".join(engine.engine_command())
    except engine.EngineError:
        return "dubkernels"


def fill_command(dk: DKNode) -> str:
    """How to fill a node's cache, written nowhere: its Process button, or the same headless on a farm."""
    script = nuke.root().name()
    return (f"press Process on {dk.node.fullName()} in Nuke, or run: nuke -t {PROCESS_SCRIPT} {script} --node "
            f"{dk.node.fullName()}")


def before_render() -> None:
    """Every DubKernels node the Write reads must be processed and up to date; each then shows its cache (a
    script saved before its nodes were processed, as on a farm, renders what the caches hold)."""
    from dubkernels_nuke.buttons import show_result

    for dk in feeding(nuke.thisNode()):
        now = refresh(dk.node)  # looked at afresh, and its mark shown: a script's knob change fires no callback
        if now.state != "processed":
            raise RuntimeError(f"DubKernels: {dk.name} is {now.state} ({now.why}); its cache cannot be rendered. "
                               f"Fill it with: {fill_command(dk)}")
        show_result(dk)


def check_datatype(write: nuke.Node, frame: int) -> None:
    """A Write of a dub must not quantise a float plate: outside the mouth the shot is the plate, bit for bit."""
    from dubkernels_nuke.buttons import bits_of

    bits = bits_of(write.input(0), frame)
    if "32-bit" in bits and str(write["datatype"].value()).startswith("16"):
        raise RuntimeError(f"DubKernels: {write.name()} writes 16-bit half, but the plate is {bits}: outside the "
                           "mouth the plate would be quantised. Set its datatype to 32 bit float.")


def before_frame() -> None:
    """Every DubKernels node the Write reads must have this frame in its cache, and the Write must keep a float
    plate float."""
    frame = nuke.frame()
    fed = feeding(nuke.thisNode())
    for dk in fed:
        path = frame_path(dk.layout.out, frame)
        if not path.is_file():
            job = dk.layout.job("process")
            raise RuntimeError(f"DubKernels: {dk.name} has no cached frame {frame} ({path}). Fill it with: "
                               f"{_command()} run {job} --frames {frame}")
    if fed:
        check_datatype(nuke.thisNode(), frame)
