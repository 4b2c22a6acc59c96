#!/usr/bin/env python
"""Copy a shot report into the docs: its numbers, its table and its pictures, small enough to commit.

Writes into DEST: ``metrics.json`` and ``summary.md`` as the report wrote them, and the contact sheet,
the curves and the worst frames at 4x as JPEG (the report keeps lossless PNGs; these are for reading in a
browser or a ticket), with ``summary.md``'s links pointing at the JPEGs; with ``--movie``, the review movie too
(with the dubbed line's sound where the dub has one).

    python scripts/publish_report.py /shots/pair_a/work docs/reports/pair_a [--movie]
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import OpenImageIO as oiio

PICTURES = ("contact_sheet", "curves")
OPTIONAL_PICTURES = ("worst_frames", "frames_to_look_at")  # newer reports: the 4x worst frames, the frames to look at
JPEG_QUALITY = 90


def publish(work: Path, dest: Path, movie: bool = False) -> list[Path]:
    """Copy ``work/report``'s numbers and pictures (and with ``movie`` its review movie) into ``dest``; returns the
    files written."""
    report = work / "report"
    needed = [report / "metrics.json", report / "summary.md"] + [report / f"{p}.png" for p in PICTURES]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise SystemExit(f"not a finished report: {', '.join(missing)} missing; run `dubkernels report {work}`.")
    dest.mkdir(parents=True, exist_ok=True)
    written = [dest / "metrics.json", dest / "summary.md"]
    shutil.copyfile(report / "metrics.json", written[0])
    summary = (report / "summary.md").read_text(encoding="utf-8")
    for name in PICTURES + tuple(p for p in OPTIONAL_PICTURES if (report / f"{p}.png").is_file()):
        image = oiio.ImageBuf(str(report / f"{name}.png"))
        image.specmod().attribute("compression", f"jpeg:{JPEG_QUALITY}")
        target = dest / f"{name}.jpg"
        if not image.write(str(target)):
            raise SystemExit(f"{target}: {image.geterror()}")
        summary = summary.replace(f"({name}.png)", f"({name}.jpg)")
        written.append(target)
    written[1].write_text(summary, encoding="utf-8")
    if movie:
        shutil.copyfile(report / "review.mp4", dest / "review.mp4")
        written.append(dest / "review.mp4")
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("work", type=Path, help="the dub's work folder (holding report/)")
    parser.add_argument("dest", type=Path, help="folder to write into, e.g. docs/reports/pair_a")
    parser.add_argument("--movie", action="store_true", help="copy the review movie (review.mp4) too")
    args = parser.parse_args()
    for path in publish(args.work, args.dest, args.movie):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
