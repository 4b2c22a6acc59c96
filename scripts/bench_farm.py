#!/usr/bin/env python
"""Benchmark of farm tasks: a chunk of a per-frame step as the farm runs it, a whole `dubkernels run` process
(start-up and imports included), side by side with the same chunk run inside one process (what `dub` does),
and against `oiiotool` reading and writing the same plate frames (the job's ``actor`` input), run right after it.

Needs the work folder of a dub or farm job (its ``jobs/`` specs and their inputs), e.g. one made with
``dubkernels farm SHOT --to openjd OUT`` and ``openjd run``. Outputs of the timed chunk are rewritten.

    python scripts/bench_farm.py WORK --chunk 1001-1040 --steps pose_align swap_pass2 composite_pass2
    python scripts/bench_farm.py WORK --chunk 1001-1040 --steps deliver_own --repeat 3
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dubkernels.io.sequences import parse_frames
from dubkernels.jobs.spec import load_job
from dubkernels.pipeline.runner import run_job


def _process(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - start


def _oiiotool(plate: str, chunk: str) -> float:
    """oiiotool reading and writing the chunk's plate frames (zip, half), as a whole process."""
    tool = shutil.which("oiiotool") or str(Path(sys.executable).with_name("oiiotool"))
    first, _, last = chunk.partition("-")
    with tempfile.TemporaryDirectory() as out:
        return _process([tool, "--frames", f"{first}-{last or first}", plate.replace("####", "#"),
                         "--compression", "zip", "-d", "half", "-o", str(Path(out) / "ref.#.exr")])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work", type=Path, help="a dub's work folder")
    parser.add_argument("--chunk", default="1001-1040", help="the farm chunk to time (default: 1001-1040)")
    parser.add_argument("--steps", nargs="+", default=["pose_align", "swap_pass2", "composite_pass2"])
    parser.add_argument("--repeat", type=int, default=1, help="paired runs of each step's task and oiiotool")
    args = parser.parse_args()
    engine = [sys.executable, "-m", "dubkernels.cli.main"]
    frames = parse_frames(args.chunk)
    print(f"start-up: `dubkernels --version` {_process(engine + ['--version']):.2f} s")
    print(f"{'step':<18} {'frames':>6} {'in one process':>15} {'farm task (whole process)':>26} "
          f"{'rerun, all current':>19}")
    for step in args.steps:
        path = args.work / "jobs" / f"{step}.json"
        start = time.perf_counter()
        summary = run_job(load_job(path), force=True, within=frames)
        inside = time.perf_counter() - start
        plate = load_job(path).inputs.get("actor")
        for _ in range(args.repeat):
            task = _process(engine + ["run", str(path), "--chunk", args.chunk, "--force", "--progress", "none"])
            reference = _oiiotool(plate, args.chunk) if plate else float("nan")
            rerun = _process(engine + ["run", str(path), "--chunk", args.chunk, "--progress", "none"])
            done = len(summary.done)
            print(f"{step:<18} {done:>6} {inside:>10.1f} s {inside / max(done, 1):>4.2f}/f "
                  f"{task:>14.1f} s {task / max(done, 1):>5.2f} s/frame {rerun:>14.1f} s   oiiotool "
                  f"{reference:.1f} s: {task / reference:.2f}x")


if __name__ == "__main__":
    main()
