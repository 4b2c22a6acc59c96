#!/usr/bin/env python
"""Benchmark of the geometric stages at 1080p: PoseAlign, LandmarkStabilize, MouthComposite.

Generates a 1080p half RGBA plate with a face (as scripts/bench_io.py does),
analyses it, then times each stage through the runner on ``--workers``
processes (per frame = wall time of the whole run / frames, so the
sequence-level work is included) and the per-frame work alone on one core.
MouthComposite is compared with oiiotool reading and writing the same plate
frames in the same run.

    python scripts/bench_stages.py --frames 24 --workers 2
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_io import make_plates

from dubkernels.analysis import analyze_sequence
from dubkernels.colour import ColourSpaces
from dubkernels.io.sequences import resolve_sequence
from dubkernels.stages.base import Stage, run_stage
from dubkernels.jobs.spec import Job
from dubkernels.pipeline.runner import make_stage
from dubkernels.tracks import save_track


def time_stage(job: Job, workers: int, frames: int) -> tuple[float, float]:
    """(ms per frame through the runner, ms per frame of render() alone on one core)."""
    start = time.perf_counter()
    run_stage(make_stage(job), workers=workers, force=True)
    runner = 1000.0 * (time.perf_counter() - start) / frames
    stage: Stage = make_stage(job)
    stage.prepare()
    numbers = stage.frames()
    start = time.perf_counter()
    for f in numbers:
        stage.render(f)
    return runner, 1000.0 * (time.perf_counter() - start) / len(numbers)


def oiiotool_ms(pattern: str, first: int, last: int, out: Path, frames: int) -> float:
    tool = shutil.which("oiiotool") or str(Path(sys.executable).with_name("oiiotool"))
    start = time.perf_counter()
    subprocess.run([tool, "--frames", f"{first}-{last}", pattern.replace("####", "#"), "--compression", "zip",
                    "-d", "half", "-o", str(out / "ref.#.exr")], check=True, capture_output=True)
    return 1000.0 * (time.perf_counter() - start) / frames


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    colour = ColourSpaces()
    with tempfile.TemporaryDirectory(prefix="dubkernels-bench-") as tmp:
        work = Path(tmp)
        (work / "plate").mkdir()
        plate = make_plates(work / "plate", (1920, 1080), args.frames, colour)
        seq = resolve_sequence(plate)
        track = str(work / "plate.track.json")
        save_track(analyze_sequence(seq, colour=colour), track)
        render = str(work / "pa" / "pa.####.exr")
        jobs = {
            "pose_align": Job("pose_align", {"actor": plate, "actor_track": track, "dubber": plate, "dubber_track": track},
                              {"out": render}),
            "stabilize": Job("stabilize", {"face": render, "face_track": track}, {"out": str(work / "st" / "st.####.exr")}),
            "mouth_composite": Job("mouth_composite", {"actor": plate, "actor_track": track, "face": render,
                                                       "face_track": track}, {"out": str(work / "mc" / "mc.####.exr")}),
        }
        rows = {name: time_stage(job, args.workers, args.frames) for name, job in jobs.items()}
        (work / "ref").mkdir()
        reference = oiiotool_ms(plate, seq.first, seq.last, work / "ref", args.frames)
    print(f"1080p, {args.frames} frames; ms per frame")
    print(f"{'stage':<17}{'runner (' + str(args.workers) + ' proc)':>18}{'render, 1 core':>16}")
    for name, (runner, render_ms) in rows.items():
        print(f"{name:<17}{runner:>18.1f}{render_ms:>16.1f}")
    print(f"oiiotool read+write of the plate: {reference:.1f} ms/frame; "
          f"mouth_composite / oiiotool = {rows['mouth_composite'][0] / reference:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
