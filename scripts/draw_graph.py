#!/usr/bin/env python3
"""Draw a node graph as a PNG, without Nuke: a Nuke script (.nk) or a farm job's Open Job Description template.

    python scripts/draw_graph.py nuke_plugin/templates/two_pass_dub.nk docs/images/two_pass_template.png
    python scripts/draw_graph.py OUTDIR/template.yaml docs/images/farm_job_graph.png
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import yaml  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "nuke_plugin"))
from dubkernels_nuke.nkscript import read_script  # noqa: E402
from dubkernels_nuke.nodes import NODE_CLASSES  # noqa: E402


def _save(fig: Any, ax: Any, title: str, out: Path, size: float) -> None:
    ax.axis("off")
    ax.set_title(title, fontsize=size)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=115)


COLOURS = {"Read": "#c8c8c8", "Write": "#e0a060", "DK_Analyze": "#b59ad0"}
DUBKERNELS = "#7b4fa0"


def draw_script(script: Path, out: Path) -> None:
    """A Nuke script: nodes at their xpos/ypos, arrows for inputs (labelled with DubKernels input names)."""
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
    _save(fig, ax, script.name, out, 10)


def draw_template(template: Path, out: Path) -> None:
    """An OJD template: a row per dependency level; chunked steps stacked, GPU steps orange."""
    steps = yaml.safe_load(template.read_text())["steps"]
    needs = {s["name"]: [d["dependsOn"] for d in s.get("dependencies", [])] for s in steps}
    depth: dict[str, int] = {}
    for step in steps:  # steps come after what they need
        depth[step["name"]] = 1 + max((depth[n] for n in needs[step["name"]]), default=-1)
    rows: dict[int, int] = {}
    where = {}
    for step in steps:
        column = depth[step["name"]]
        where[step["name"]] = (column, rows.get(column, 0))
        rows[column] = rows.get(column, 0) + 1
    width = max(rows.values())
    where = {name: ((row - (rows[level] - 1) / 2) * 1.6, -level) for name, (level, row) in where.items()}
    fig, ax = plt.subplots(figsize=(2.2 * width + 1, 0.42 * (max(depth.values()) + 1) + 0.8))
    for step in steps:
        x, y = where[step["name"]]
        if len(needs[step["name"]]) > 8:
            continue  # the report waits for every step: its arrows would hide the rest
        for need in needs[step["name"]]:
            nx, ny = where[need]
            ax.annotate("", (x, y + 0.22), (nx, ny - 0.22), arrowprops={"arrowstyle": "->", "color": "#999999",
                                                                        "lw": 0.6})
    for step in steps:
        x, y = where[step["name"]]
        gpu = "hostRequirements" in step
        chunked = "parameterSpace" in step
        colour = "#e0a060" if gpu else ("#7b4fa0" if chunked else "#b59ad0")
        for offset in ((0.06, 0.03) if chunked else ()):
            ax.text(x + offset, y - offset, step["name"], ha="center", va="center", fontsize=6.5, color=colour,
                    bbox={"boxstyle": "round,pad=0.3", "facecolor": colour, "edgecolor": "#333333"})
        ax.text(x, y, step["name"], ha="center", va="center", fontsize=6.5,
                color="white" if chunked and not gpu else "black",
                bbox={"boxstyle": "round,pad=0.3", "facecolor": colour, "edgecolor": "#333333"})
    ax.set_xlim(-0.8 * width - 0.4, 0.8 * width + 0.4)
    ax.set_ylim(-max(depth.values()) - 0.6, 0.6)
    _save(fig, ax, "farm job, top to bottom: stacked = frame chunks, orange = GPU, pale = one task\n"
                   "(the report, last, waits for every step)", out, 8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="a .nk script, or a farm job's template.yaml")
    parser.add_argument("out", type=Path, help="the PNG to write")
    args = parser.parse_args()
    (draw_template if args.source.suffix in (".yaml", ".yml") else draw_script)(args.source, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
