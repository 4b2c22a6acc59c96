"""``dubkernels ingest``: decode a mov/mp4 clip into a scene-linear EXR plate."""
from __future__ import annotations

import argparse
from fractions import Fraction

from dubkernels.cli.common import add_colour_options, add_frames_option, progress_bar
from dubkernels.colour import ColourSpaces
from dubkernels.io.sequences import output_sequence, parse_frames
from dubkernels.io.video import DEFAULT_VIDEO_COLOURSPACE, clip_frame_count, ingest_video

HELP = "decode a mov/mp4 clip into a scene-linear half EXR sequence"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ingest", help=HELP, description=HELP + ", keeping its frame rate and timecode.")
    p.add_argument("clip", metavar="CLIP", help="video file (mov, mp4)")
    p.add_argument("out_pattern", metavar="OUT_PATTERN", help="EXR sequence to write, e.g. plates/shot.####.exr")
    p.add_argument(
        "--colourspace", default=DEFAULT_VIDEO_COLOURSPACE,
        help=f"OCIO colourspace of the clip's pixels (default: {DEFAULT_VIDEO_COLOURSPACE})",
    )
    add_colour_options(p)
    p.add_argument("--start", type=int, default=1001, help="frame number of the clip's first frame (default 1001)")
    add_frames_option(p, default="every frame of the clip")
    p.set_defaults(run=run)


def _fps_text(fps: Fraction | None) -> str:
    return f"{float(fps):.3f}".rstrip("0").rstrip(".") + " fps" if fps else "unknown fps"


def run(args: argparse.Namespace) -> int:
    frames = parse_frames(args.frames) if args.frames else None
    colour = ColourSpaces(args.ocio)
    colour.resolve(args.colourspace)  # fail on a bad name or pattern before the progress bar opens
    output_sequence(args.out_pattern, [])
    total = len(frames) if frames else clip_frame_count(args.clip)
    with progress_bar(total, "ingest") as bar:
        result = ingest_video(
            args.clip, args.out_pattern, args.colourspace, colour,
            start_frame=args.start, frames=frames, progress=bar.update,
        )
    timecode = f"timecode {result.timecode}" if result.timecode else "no timecode"
    print(f"frames: {result.sequence} ({result.frame_count} frames, {_fps_text(result.fps)}, {timecode})")
    for note in result.notes:
        print(f"note: {note}")
    return 0
