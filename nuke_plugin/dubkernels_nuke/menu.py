"""The DubKernels menu in the Nodes toolbar (GUI only: `menu.py` calls :func:`build`)."""
from __future__ import annotations

import nuke

from dubkernels_nuke.nodes import NODES
from dubkernels_nuke.paths import TEMPLATE_FILE


def load_template() -> None:
    """Paste the two-pass template (Read actor, Read dubber -> both passes -> Write) into the script."""
    nuke.nodePaste(str(TEMPLATE_FILE))


def build() -> None:
    menu = nuke.menu("Nodes").addMenu("DubKernels", tooltip="visual dubbing: only the mouth changes")
    for spec in NODES:
        menu.addCommand(spec.title, f"nuke.createNode({spec.cls!r})", tooltip=spec.help)
    menu.addCommand("Two-pass dub template", load_template,
                    tooltip="Read(actor), Read(dubber) -> the paper's two passes -> Write")
