"""``dubkernels preview``: burn a track's landmarks and masks into a contact sheet and an MP4."""
from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

from dubkernels.cli.common import add_colour_options, add_frames_option, progress_bar
from dubkernels.colour import ColourSpaces
from dubkernels.io.frames import read_frame
from dubkernels.io.sequences import FrameSequence, resolve_sequence
from dubkernels.preview import render_preview
from dubkernels.tracks import load_track

HELP = "check an analysis by eye: landmarks and masks on a PNG contact sheet and an MP4"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("preview", help=HELP, description=HELP + ".")
    p.add_argument("plate", help="EXR sequence pattern the track was made from")
    p.add_argument("--track", required=True, type=Path, help="track file from `dubkernels analyze`")
    p.add_argument("--out", required=True, type=Path, help="folder for NAME_sheet.png and NAME.mp4")
    p.add_argument("--name", default="preview", help="file name stem (default: preview)")
    p.add_argument("--no-movie", action="store_true", help="write only the contact sheet")
    p.add_argument("--fps", type=Fraction, help="movie frame rate (default: the plate's, else 25)")
    add_frames_option(p)
    add_colour_options(p)
    p.set_defaults(run=run)


def plate_fps(sequence: FrameSequence, default: Fraction = Fraction(25)) -> Fraction:
    """The FramesPerSecond attribute of the plate's first frame, else ``default``."""
    value = read_frame(sequence.path(sequence.first), sequence.first).spec.getattribute("FramesPerSecond")
    if value and value[1]:
        return Fraction(int(value[0]), int(value[1]))
    return default


def run(args: argparse.Namespace) -> int:
    track = load_track(args.track)
    sequence = resolve_sequence(args.plate, args.frames or track.frame_range_text())
    fps = args.fps or plate_fps(sequence)
    with progress_bar(len(sequence), "preview") as bar:
        result = render_preview(sequence, track, args.out, colour=ColourSpaces(args.ocio), name=args.name,
                                movie=not args.no_movie, fps=fps, progress=bar.update)
    print(f"contact sheet: {result.contact_sheet}")
    if result.movie:
        print(f"movie: {result.movie}")
    return 0
