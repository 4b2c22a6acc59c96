#!/usr/bin/env python3
"""Draw a Nuke script's node graph (nodes at their xpos/ypos, arrows for inputs) as a PNG, without Nuke.

    python scripts/draw_nuke_graph.py nuke_plugin/templates/two_pass_dub.nk docs/images/two_pass_template.png
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "nuke_plugin"))
from dubkernels_nuke.nkscript import read_script  # noqa: E402
from dubkernels_nuke.nodes import NODE_CLASSES  # noqa: E402

COLOURS = {"Read": "#c8c8c8", "Write": "#e0a060", "DK_Analyze": "#b59ad0"}
DUBKERNELS = "#7b4fa0"


def draw(script: Path, out: Path) -> None:
    nodes = [n for n in read_script(script) if "xpos" in n.knobs]
    dots = {id(n) for n in nodes if n.cls == "Dot"}
    where = {id(n): (float(n.knobs["xpos"]), -float(n.knobs["ypos"])) for n in nodes}
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(nodes) + 1))
    for node in nodes:
        x, y = where[id(node)]
        for index, source in enumerate(node.inputs):
            if source is not None and id(source) in where:
                sx, sy = where[id(source)]
                end = ((x - 70 if x > sx else x + 70), y) if id(source) in dots else (x, y + 12)
                start = (sx, sy) if id(source) in dots or node.cls == "Dot" else (sx, sy - 12)
                ax.annotate("", end if node.cls != "Dot" else (x, y), start, arrowprops={"arrowstyle": "->", "color": "#555555",
                                                                       "shrinkA": 0, "shrinkB": 0})
                spec = NODE_CLASSES.get(node.cls)
                if spec and len(spec.inputs) > 1:
                    ax.text((end[0] + start[0]) / 2, (end[1] + start[1]) / 2 + 6, spec.inputs[index], fontsize=7,
                            color="#555555", ha="center")
        if node.cls == "Dot":
            ax.plot([x], [y], "o", color="#333333", markersize=4)
            continue
        colour = COLOURS.get(node.cls, DUBKERNELS if node.cls.startswith("DK_") else "#dddddd")
        label = node.name + (f"\n{node.knobs['label']}" if node.knobs.get("label") else "")
        ax.text(x, y, label, ha="center", va="center", fontsize=8,
                color="white" if colour == DUBKERNELS else "black",
                bbox={"boxstyle": "round,pad=0.4", "facecolor": colour, "edgecolor": "#333333"})
    xs = [p[0] for p in where.values()]
    ys = [p[1] for p in where.values()]
    ax.set_xlim(min(xs) - 150, max(xs) + 150)
    ax.set_ylim(min(ys) - 40, max(ys) + 40)
    ax.axis("off")
    ax.set_title(script.name, fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("script", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    draw(args.script, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
