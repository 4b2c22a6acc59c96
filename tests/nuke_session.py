"""The fake `nuke` module installed for the plugin tests, and helpers to drive a script with it."""
from __future__ import annotations

import sys

from tests.conftest import REPO

PLUGIN = REPO / "nuke_plugin"
if str(PLUGIN) not in sys.path:
    sys.path.insert(0, str(PLUGIN))

from tests import fake_nuke  # noqa: E402  (needs the plugin's script reader on the path)

sys.modules["nuke"] = fake_nuke  # type: ignore[assignment]


def new_session(gui: bool = False) -> None:
    """An empty Nuke session with the plugin's init.py run (gizmo path, callbacks)."""
    fake_nuke.reset()
    fake_nuke.GUI = gui
    from dubkernels_nuke import callbacks

    callbacks.register()


def press(node: fake_nuke.Node, button: str) -> None:
    """Press a button the way Nuke does: run its PyScript knob with the node as thisNode."""
    node[button].execute()
