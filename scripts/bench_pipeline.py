#!/usr/bin/env python
"""Benchmark of the whole dub, step by step, as a farm runs it: one process per step.

For each size, makes an actor and a dubber plate with a face (as scripts/bench_io.py does),
writes a shot file, writes the graph's job specs (`dubkernels dub --dry-run`), then runs every
step as its own `dubkernels run WORK/jobs/STEP.json` process and reports its wall time, time
per frame and peak resident memory (the largest process of the step, workers included).
Training runs a fixed number of iterations and is reported apart. Then MouthComposite on a
40-frame chunk is timed against oiiotool reading and writing the same 40 plate frames. With
``--mode dub`` (or ``both``, the default) the whole shot also runs as one `dubkernels dub` process,
as on a workstation, and each step's time comes from its state record.

Targets (issue 8): every step but training at most 1 s per 1080p frame on 2 cores; peak
memory of a 4K shot at most 4 GiB. ``--mode quick`` times the own mouth with no training, delivered
(issue 19: at most 0.5 s per 1080p frame on 2 cores).

    python scripts/bench_pipeline.py --sizes 1080x1920 4k --frames 40 --iterations 10
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_io import make_plates

from dubkernels.colour import ColourSpaces
from dubkernels.pipeline.shot import template

SIZES = {"1080p": (1920, 1080), "1080x1920": (1080, 1920), "4k": (3840, 2160)}
CHUNK = 40


# Runs the command as its child and prints the child's peak RSS (KiB): measured from a small process, since
# a process's peak RSS starts at that of the process that forked it (the kernel keeps it across exec).
MEASURE = ("import os, subprocess, sys; p = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL); "
           "_, status, usage = os.wait4(p.pid, 0); open(sys.argv[1], 'w').write(str(usage.ru_maxrss)); "
           "sys.exit(os.waitstatus_to_exitcode(status))")


def run_process(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB of the largest process of the step, its workers included)."""
    with tempfile.NamedTemporaryFile("r") as peak:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", MEASURE, peak.name, *command], stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
        return wall, int(peak.read() or 0) / 1024.0


def dubkernels(*args: str) -> list[str]:
    return [sys.executable, "-m", "dubkernels.cli.main", *args]


def make_shot(folder: Path, size: str, frames: int, iterations: int, colour: ColourSpaces) -> tuple[str, Path]:
    """Actor and dubber plates of ``size`` and a shot file training ``iterations`` per network: (actor, shot)."""
    (folder / "actor").mkdir(parents=True)
    (folder / "dubber").mkdir()
    actor = make_plates(folder / "actor", SIZES[size], frames, colour)
    dubber = make_plates(folder / "dubber", SIZES[size], frames, colour)
    shot = folder / "shot.toml"
    shot.write_text(template(actor, dubber).replace("iterations = 0 ", f"iterations = {iterations} ", 1)
                    .replace("sr_iterations = 0 ", f"sr_iterations = {iterations} "))
    return actor, shot


def bench_size(name: str, frames: int, iterations: int, work: Path, colour: ColourSpaces) -> list[dict]:
    folder = work / name
    actor, shot = make_shot(folder, name, frames, iterations, colour)
    subprocess.run(dubkernels("dub", str(shot), "--dry-run", "--progress", "none"), check=True,
                   stdout=subprocess.DEVNULL)
    rows = []
    for step in json.loads((folder / "work" / "files.json").read_text())["steps"]:
        wall, rss = run_process(dubkernels("run", str(folder / "work" / "jobs" / f"{step}.json"), "--progress", "none"))
        rows.append({"size": name, "step": step, "seconds": wall, "per_frame": wall / frames, "rss_mib": rss})
        print(f"{name:>9} {step:<22} {wall:8.1f} s {1000 * wall / frames:8.0f} ms/frame {rss:8.0f} MiB", flush=True)
    chunk = min(CHUNK, frames)
    last = 1000 + chunk
    comp = folder / "work" / "jobs" / "deliver_pass2.json"  # a delivery: the composite over whole plates
    wall, _ = run_process(dubkernels("run", str(comp), "--frames", f"1001-{last}", "--force", "--progress", "none"))
    tool = shutil.which("oiiotool") or str(Path(sys.executable).with_name("oiiotool"))
    ref, _ = run_process([tool, "--frames", f"1001-{last}", actor.replace("####", "#"), "--compression", "zip",
                          "-d", "half", "-o", str(folder / "ref.#.exr")])
    rows.append({"size": name, "step": f"composite chunk of {chunk} vs oiiotool", "seconds": wall,
                 "oiiotool_seconds": ref, "ratio": wall / ref})
    print(f"{name:>9} composite {chunk}-frame chunk {wall:.1f} s, oiiotool {ref:.1f} s: {wall / ref:.2f}x", flush=True)
    return rows


def bench_dub(name: str, frames: int, iterations: int, work: Path, colour: ColourSpaces) -> dict:
    """`dubkernels dub` of the whole shot as one process (a workstation run): each step's time from its
    state record, the whole wall time and peak memory."""
    folder = work / f"{name}-dub"
    _, shot = make_shot(folder, name, frames, iterations, colour)
    wall, rss = run_process(dubkernels("dub", str(shot), "--no-report", "--progress", "none"))
    steps = {p.stem: json.loads(p.read_text())["seconds"] for p in sorted((folder / "work" / "state").glob("*.json"))}
    training = sum(v for k, v in steps.items() if k.startswith("train"))
    other = sum(v for k, v in steps.items() if not k.startswith("train"))
    for step, seconds in steps.items():
        print(f"{name:>9} dub {step:<22} {seconds:8.1f} s {1000 * seconds / frames:8.0f} ms/frame", flush=True)
    print(f"{name:>9} dub: {wall:.0f} s in all, training {training:.0f} s, every other step {other:.0f} s = "
          f"{1000 * other / frames:.0f} ms/frame; peak {rss:.0f} MiB", flush=True)
    return {"size": name, "step": "dub (one process)", "seconds": wall, "training": training, "other": other,
            "other_per_frame": other / frames, "rss_mib": rss, "steps": steps}


def bench_quick(name: str, frames: int, work: Path, colour: ColourSpaces) -> dict:
    """The own mouth with no training, delivered, as a CPU makes it: `dubkernels dub --quick` with the own mouth
    pinned and no report, one process: tracking, PoseAlign, the own mouth and its delivery over whole plates (only
    the steps the delivery reads)."""
    folder = work / f"{name}-quick"
    _, shot = make_shot(folder, name, frames, 0, colour)
    wall, rss = run_process(dubkernels("dub", str(shot), "--quick", "--no-report", "--set", "shot.deliver=own_mouth",
                                       "--progress", "none"))
    steps = {p.stem: json.loads(p.read_text())["seconds"] for p in sorted((folder / "work" / "state").glob("*.json"))}
    for step, seconds in steps.items():
        print(f"{name:>9} quick {step:<22} {seconds:8.1f} s {1000 * seconds / frames:8.0f} ms/frame", flush=True)
    print(f"{name:>9} own mouth, no training, delivered: {wall:.0f} s = {1000 * wall / frames:.0f} ms/frame "
          f"(steps {sum(steps.values()):.0f} s); peak {rss:.0f} MiB", flush=True)
    return {"size": name, "step": "own mouth delivered (no training)", "seconds": wall, "per_frame_all": wall / frames,
            "rss_mib": rss, "steps": steps}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=["1080p", "4k"])
    parser.add_argument("--frames", type=int, default=40, help="frames per shot (default 40)")
    parser.add_argument("--iterations", type=int, default=20, help="training iterations per pass (default 20)")
    parser.add_argument("--mode", choices=("steps", "dub", "both", "quick"), default="both",
                        help="steps: one process per step, as a farm runs them; dub: `dubkernels dub` as one "
                             "process, as a workstation runs it (default both); quick: the own mouth with no "
                             "training, delivered (the CPU's dub)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()
    colour = ColourSpaces()
    rows = []
    with tempfile.TemporaryDirectory(prefix="dubkernels-bench-") as tmp:
        for name in args.sizes:
            if args.mode == "quick":
                rows.append(bench_quick(name, args.frames, Path(tmp), colour))
            if args.mode in ("dub", "both"):
                rows.append(bench_dub(name, args.frames, args.iterations, Path(tmp), colour))
            if args.mode in ("steps", "both"):
                rows += bench_size(name, args.frames, args.iterations, Path(tmp), colour)
    print("\nsummary (training apart):")
    for row in rows:
        if row["step"] == "dub (one process)":
            print(f"{row['size']}: dub in one process: every step but training {row['other']:.0f} s for "
                  f"{args.frames} frames ({1000 * row['other_per_frame']:.0f} ms/frame); training "
                  f"{row['training']:.0f} s; peak memory {row['rss_mib']:.0f} MiB")
        elif row["step"] == "own mouth delivered (no training)":
            print(f"{row['size']}: the own mouth, no training, delivered: {row['seconds']:.0f} s for {args.frames} "
                  f"frames ({1000 * row['per_frame_all']:.0f} ms/frame); peak memory {row['rss_mib']:.0f} MiB")
    for name in args.sizes if args.mode in ("steps", "both") else []:
        steps = [r for r in rows if r["size"] == name and "per_frame" in r]
        other = [r for r in steps if not r["step"].startswith("train")]
        worst = max(other, key=lambda r: r["per_frame"])
        print(f"{name}: steps but training {sum(r['seconds'] for r in other):.0f} s for {args.frames} frames "
              f"({1000 * sum(r['per_frame'] for r in other):.0f} ms/frame in all); slowest {worst['step']} "
              f"{1000 * worst['per_frame']:.0f} ms/frame; training "
              f"{sum(r['seconds'] for r in steps if r['step'].startswith('train')):.0f} s; "
              f"peak memory {max(r['rss_mib'] for r in steps):.0f} MiB")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
