#!/usr/bin/env python3
"""Write the DubKernels gizmos, the plugin's copy of the job description and the two-pass template.

Everything is generated from ``dubkernels describe --json`` and the node table in
``nuke_plugin/dubkernels_nuke/nodes.py``, so a new parameter becomes a knob (and a new node
class a gizmo) by rerunning this script:

    python scripts/make_gizmos.py           # write gizmos/*.gizmo, gizmos/dubkernels_describe.json,
                                            # nuke_plugin/templates/two_pass_dub.nk
    python scripts/make_gizmos.py --check   # exit 1 naming the files that are out of date
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "nuke_plugin"))

from dubkernels_nuke.knobs import Knob, node_knobs  # noqa: E402
from dubkernels_nuke.nkscript import GraphNode, UserKnob, graph_text, quote, user_knob_text  # noqa: E402
from dubkernels_nuke.nodes import NODES, NodeSpec  # noqa: E402
from dubkernels_nuke.paths import (DESCRIBE_FILE, GIZMO_DIR, TEMPLATE_FILE, cache_frames_expression,  # noqa: E402
                                   input_export_name)

HEADER = "version 13.2 v5\n"
TILE_COLOUR = "0x7b4fa0ff"
WRITE_LINES = ['file ""', "file_type exr", "raw true", "channels all", 'datatype "16 bit half"',
               'metadata "all metadata"', "create_directories true"]


def describe() -> dict[str, Any]:
    """The engine's job-kind description, from the engine itself."""
    out = subprocess.run([sys.executable, "-m", "dubkernels.cli.main", "describe", "--json"], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout)


def _knob_lines(knobs: list[Knob]) -> list[str]:
    lines = []
    for knob in knobs:
        lines.append(user_knob_text(knob.user))
        if knob.value is not None:
            lines.append(f"{knob.name} {quote(knob.value)}")
    return lines


def gizmo_text(spec: NodeSpec, kinds: dict[str, dict[str, Any]]) -> str:
    """The .gizmo of one node: its knobs, then Input -> Write (disabled) ... Read(cache) -> Switch -> Output."""
    header = [f"help {quote(spec.help)}", f"tile_color {TILE_COLOUR}", *_knob_lines(node_knobs(spec, kinds))]
    inner: list[GraphNode] = []
    for number, name in enumerate(spec.inputs):
        inner.append(GraphNode("Input", name, [f"number {number}"]))
        inner.append(GraphNode("Write", input_export_name(name), WRITE_LINES + ["disable true"], [name]))
    main = spec.inputs[0]
    if spec.makes_layer:
        inner.append(GraphNode("Read", "Cache", [f"file {quote(cache_frames_expression())}", "raw true",
                                                 "first {{parent.dk_first}}", "last {{parent.dk_last}}",
                                                 "on_error error"]))
        inner.append(GraphNode("Switch", "Show", ["which {{parent.dk_processed}}"], [main, "Cache"]))
        inner.append(GraphNode("Output", "Output1", [], ["Show"]))
    else:
        inner.append(GraphNode("Output", "Output1", [], [main]))
    body = "\n".join(f" {line}" for line in header)
    return HEADER + f"Gizmo {{\n{body}\n}}\n" + graph_text(inner) + "end_group\n"


# The paper's two passes as DubKernels nodes: (class, name, inputs, knob values, (column, row)).
TEMPLATE: list[tuple[str, str, list[str | None], dict[str, Any], tuple[int, int]]] = [
    ("Read", "Read_actor", [], {"label": "actor plate A0 (EXR, scene-linear)"}, (0, 0)),
    ("Read", "Read_dubber", [], {"label": "dubber plate D0 (EXR, scene-linear)"}, (1, 0)),
    ("AudioRead", "Line", [], {"label": "the dubbed line: the WAV dub writes beside the final shot\n(Deliver's "
                                         "From report sets it; its first sample is the shot's first frame)"},
     (2, 0)),
    ("DK_Analyze", "Analyze_actor", ["Read_actor"], {}, (0, 1)),
    ("DK_Analyze", "Analyze_dubber", ["Read_dubber"], {}, (1, 1)),
    ("DK_PoseAlign", "PoseAlign1", ["Analyze_actor", "Analyze_dubber"], {}, (1, 2)),
    ("DK_OwnMouth", "OwnMouth_quicklook", ["Analyze_actor", "PoseAlign1"], {}, (-1, 3)),
    ("DK_MouthComposite", "OwnMouth_comp", ["Analyze_actor", "OwnMouth_quicklook"],
     {"uncovered": "copy", "extent": "face", "label": "own mouth: no training (pass 2 refines it)"}, (-1, 4)),
    ("DK_IdentitySwap", "Swap_pass1", ["PoseAlign1", "Analyze_actor"], {}, (1, 3)),
    ("DK_LandmarkStabilize", "Stabilize_pass1", ["Swap_pass1"], {}, (1, 4)),
    ("DK_FaceSR", "FaceSR_pass1", ["Stabilize_pass1", "Analyze_actor"], {}, (1, 5)),
    ("DK_MouthComposite", "Composite_pass1", ["Analyze_actor", "FaceSR_pass1"],
     {"uncovered": "copy", "extent": "face", "label": "pass 1"}, (1, 6)),
    ("DK_IdentitySwap", "Swap_pass2", ["OwnMouth_comp", "Analyze_actor"], {"init_from": "Swap_pass1"}, (1, 7)),
    ("DK_LandmarkStabilize", "Stabilize_pass2", ["Swap_pass2"], {}, (1, 8)),
    ("DK_FaceSR", "FaceSR_pass2", ["Stabilize_pass2", "Analyze_actor"], {"training_from": "FaceSR_pass1"}, (1, 9)),
    ("DK_MouthComposite", "Composite_pass2", ["Analyze_actor", "FaceSR_pass2"],
     {"uncovered": "copy", "extent": "face", "label": "pass 2"}, (1, 10)),
    ("Switch", "Deliver", ["OwnMouth_quicklook", "FaceSR_pass1", "FaceSR_pass2"],
     {"which": 0, "label": "delivered: 0 own mouth (chin on: with its drawn chin), 1 pass 1, 2 pass 2\n"
                           "(the report's best, or the shot's pin)"},
     (-1, 11)),
    ("DK_MouthComposite", "Composite_final", ["Analyze_actor", "Deliver"],
     {"uncovered": "copy", "label": "the delivered candidate over the whole plate"}, (1, 12)),
    ("Write", "Write_final", ["Composite_final"], {}, (1, 13)),
]
COLUMN_WIDTH, ROW_HEIGHT, BUS = 260, 90, "Analyze_actor"
DELIVER_KNOBS = [  # the Deliver switch set from a shot report (dubkernels_nuke/delivery.py)
    user_knob_text(UserKnob(2, "report", "report", "a shot's WORK/report/delivery.json (written by dubkernels dub "
                            "or dubkernels report)", ["+STARTLINE"])),
    user_knob_text(UserKnob(22, "from_report", "From report", "set the switch to the candidate the report delivers",
                            text="import dubkernels_nuke.delivery as d; d.from_report(nuke.thisNode())")),
    user_knob_text(UserKnob(6, "chin", "own mouth with its chin", "Composite_final takes the chin with the own "
                            "mouth (the report's own_chin candidate: the own mouth's layer with its drawn jaw)",
                            ["+STARTLINE"])),
]
EXPRESSIONS = {"Composite_final": ["chin {{Deliver.chin}}"]}  # knobs that follow another node's


def template_text() -> str:
    """The two-pass template: Read(actor), Read(dubber) -> the paper's graph -> Write. The actor plate runs
    down a column of Dots, one beside each node that reads it (the plugin looks through Dots)."""
    nodes, bus = [], BUS
    for cls, name, inputs, values, (column, row) in TEMPLATE:
        if BUS in inputs and column != 0:
            dot = f"Dot_actor_{name}"
            nodes.append(GraphNode("Dot", dot, [f"xpos {34}", f"ypos {row * ROW_HEIGHT + 4}"], [bus]))
            bus, inputs = dot, [dot if i == BUS else i for i in inputs]
        lines = WRITE_LINES if cls == "Write" else {"Read": ['file ""', "raw true"], "AudioRead": ['file ""']}.get(cls, [])
        lines = lines + (DELIVER_KNOBS if name == "Deliver" else []) + EXPRESSIONS.get(name, [])
        lines = lines + [f"{k} {quote(v)}" for k, v in values.items()]
        nodes.append(GraphNode(cls, name, lines + [f"xpos {column * COLUMN_WIDTH}", f"ypos {row * ROW_HEIGHT}"],
                               inputs))
    return HEADER + graph_text(nodes)


def outputs() -> dict[Path, str]:
    """Every generated file and its text."""
    data = describe()
    kinds = {k["name"]: k for k in data["kinds"]}
    files = {GIZMO_DIR / f"{spec.cls}.gizmo": gizmo_text(spec, kinds) for spec in NODES}
    files[DESCRIBE_FILE] = json.dumps(data, indent=1) + "\n"
    files[TEMPLATE_FILE] = template_text()
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that the committed files are current")
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {path.relative_to(REPO)}")
    if args.check and stale:
        print("run: python scripts/make_gizmos.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
