#!/usr/bin/env python3
"""Draw an Open Job Description template's steps as a graph (a row per dependency level) into a PNG.

    python scripts/draw_farm_graph.py OUTDIR/template.yaml docs/images/farm_job_graph.png

Chunked steps (frame chunks) are drawn as stacked boxes; GPU steps are orange.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import yaml  # noqa: E402


def draw(template: Path, out: Path) -> None:
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
    ax.axis("off")
    ax.set_title("farm job, top to bottom: stacked = frame chunks, orange = GPU, pale = one task\n"
                 "(the report, last, waits for every step)", fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("template", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    draw(args.template, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
