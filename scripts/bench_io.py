#!/usr/bin/env python
"""Benchmark of frame I/O, colour conversion and face analysis at 1080p and 4K.

Generates half-float RGBA EXR plates (a face on a grainy background), then
measures per frame, pinned to ``--cores`` cores:
  - our read (read_frame) and write (write_frame) of every frame;
  - oiiotool (shipped in the OpenImageIO wheel) reading and writing the same
    frames in one run, as the reference, and the ratio of the two;
  - OCIO conversion of the full frame to network space;
  - face analysis (tracked steady state, as in `dubkernels analyze`);
  - resident memory at the first and last frame of a full analyze run
    (it must stay flat: frames are streamed, not held).

    python scripts/bench_io.py --frames 12 --sizes 1080p 4k
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from dubkernels.analysis import AnalysisSettings, FaceAnalyzer, analyze_sequence
from dubkernels.colour import ColourSpaces
from dubkernels.io.frames import new_frame, read_frame, write_frame
from dubkernels.io.sequences import resolve_sequence

SIZES = {"1080p": (1920, 1080), "4k": (3840, 2160)}


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def make_plates(folder: Path, size: tuple[int, int], frames: int, colour: ColourSpaces) -> str:
    """Write a sequence of half RGBA plates with the astronaut's face about 1/7 of the width."""
    width, height = size
    rng = np.random.default_rng(7)
    face = colour.from_network(data.astronaut().astype(np.float32) / 255.0)
    side = int(width / 7 * 512 / 90)  # her face is ~90 px of the 512 px photo
    face = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    pattern = folder / "plate.####.exr"
    for i in range(frames):
        plate = np.full((height, width, 4), 0.05, np.float32)
        plate[..., 3] = 1.0
        x, y = width // 3 + 2 * i, max(0, height // 2 - side // 2)
        h, w = min(side, height - y), min(side, width - x)
        plate[y : y + h, x : x + w, :3] = face[:h, :w]
        plate[..., :3] += rng.normal(0, 0.01, (height, width, 3)).astype(np.float32)
        write_frame(str(pattern).replace("####", f"{1001 + i:04d}"),
                    new_frame(plate, channel_names=("R", "G", "B", "A")))
    return str(pattern)


def per_frame_ms(times: list[float]) -> float:
    return 1000.0 * statistics.median(times)


def bench_size(name: str, size: tuple[int, int], frames: int, colour: ColourSpaces, work: Path) -> dict[str, float]:
    folder = work / name
    folder.mkdir()
    pattern = make_plates(folder, size, frames, colour)
    seq = resolve_sequence(pattern)
    out = folder / "ours"
    reads, writes, colours, analyses = [], [], [], []
    analyzer = FaceAnalyzer(AnalysisSettings(), colour)
    for number in seq.frames:
        t0 = time.perf_counter()
        frame = read_frame(seq.path(number), number)
        t1 = time.perf_counter()
        write_frame(out / f"plate.{number:04d}.exr", frame)
        t2 = time.perf_counter()
        rgb = frame.display_rgb()
        t3 = time.perf_counter()
        colour.to_network(rgb)
        t4 = time.perf_counter()
        analyzer.analyze(rgb, number)
        t5 = time.perf_counter()
        reads.append(t1 - t0)
        writes.append(t2 - t1)
        colours.append(t4 - t3)
        analyses.append(t5 - t4 + (t3 - t2))  # analysis includes making the display-window RGB
    ours_total = sum(reads) + sum(writes)

    tool = shutil.which("oiiotool") or str(Path(sys.executable).with_name("oiiotool"))
    ref_out = folder / "ref"
    ref_out.mkdir()
    t0 = time.perf_counter()
    subprocess.run(
        [tool, "--frames", f"{seq.first}-{seq.last}", str(folder / "plate.#.exr"),
         "--compression", "zip", "-d", "half", "-o", str(ref_out / "plate.#.exr")],
        check=True, capture_output=True,
    )
    ref_total = time.perf_counter() - t0

    rss: list[float] = []
    analyze_sequence(seq, colour=colour, progress=lambda _n: rss.append(rss_mib()))
    steady = analyses[1:] or analyses
    return {
        "read": per_frame_ms(reads),
        "write": per_frame_ms(writes),
        "ours r+w": 1000.0 * ours_total / frames,
        "oiiotool r+w": 1000.0 * ref_total / frames,
        "ratio": ours_total / ref_total,
        "colour": per_frame_ms(colours),
        "analysis": per_frame_ms(steady),
        "rss first": rss[0],
        "rss last": rss[-1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=12, help="frames per plate (default 12)")
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=["1080p", "4k"])
    parser.add_argument("--cores", type=int, default=1, help="pin this process and oiiotool to N cores (default 1)")
    args = parser.parse_args()
    os.sched_setaffinity(0, set(range(args.cores)))
    cv2.setNumThreads(args.cores)
    colour = ColourSpaces()
    rows = {}
    with tempfile.TemporaryDirectory(prefix="dubkernels-bench-") as tmp:
        for name in args.sizes:
            rows[name] = bench_size(name, SIZES[name], args.frames, colour, Path(tmp))
    columns = list(next(iter(rows.values())))
    print(f"per-frame figures in ms (median), {args.frames} frames, {args.cores} core(s); rss in MiB")
    print(f"{'size':<7}" + "".join(f"{c:>14}" for c in columns))
    for name, row in rows.items():
        print(f"{name:<7}" + "".join(f"{row[c]:>14.2f}" for c in columns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
