"""What `init.py` registers (in every mode, `nuke -x` and `nuke -t` included): gizmo path, render checks,
and the knob callback that keeps each node's Info tab and stale colour current."""
from __future__ import annotations

import nuke

from dubkernels_nuke import render_check
from dubkernels_nuke.dknode import DKNode, PluginError
from dubkernels_nuke.nodes import NODE_CLASSES
from dubkernels_nuke.paths import GIZMO_DIR
from dubkernels_nuke.state import refresh

QUIET_KNOBS = frozenset({"info", "tile_color", "dk_processed", "dk_first", "dk_last", "xpos", "ypos", "selected",
                         "showPanel", "hidePanel", "label", "lm_flagged"})


def knob_changed() -> None:
    """A knob of a DubKernels node moved: refresh its state (result-changing knobs make it stale)."""
    knob = nuke.thisKnob()
    if knob is None or knob.name() in QUIET_KNOBS or knob.name().startswith("lm_"):
        return
    refresh(nuke.thisNode())


def on_create() -> None:
    """A DubKernels node was made (created, pasted, duplicated, loaded): a copy gets a cache of its own."""
    node = nuke.thisNode()
    if str(nuke.root().name() or "Root") != "Root" or str(node["cache"].value() or ""):
        try:
            DKNode(node).claim_cache()
        except PluginError as exc:
            nuke.tprint(f"DubKernels: {exc}")


def register() -> None:
    """Register the gizmos folder and the callbacks (once; Nuke keeps one copy of a repeated callback)."""
    nuke.pluginAddPath(str(GIZMO_DIR))
    nuke.addBeforeRender(render_check.before_render, nodeClass="Write")
    nuke.addBeforeFrameRender(render_check.before_frame, nodeClass="Write")
    for cls in NODE_CLASSES:
        nuke.addKnobChanged(knob_changed, nodeClass=cls)
        nuke.addOnCreate(on_create, nodeClass=cls)
