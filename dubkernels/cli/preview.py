"""``dubkernels preview``: burn a track's landmarks and masks into a contact sheet and an MP4."""
from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

from dubkernels.cli.common import add_colour_options, add_frames_option, add_progress_option

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
    add_progress_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dubkernels.colour import ColourSpaces
    from dubkernels.io.sequences import resolve_sequence
    from dubkernels.jobs.progress import make_progress
    from dubkernels.preview import plate_fps, render_preview
    from dubkernels.tracks import check_plate, load_track

    track = load_track(args.track)
    sequence = resolve_sequence(args.plate, args.frames or track.frame_range_text())
    for note in check_plate(track, {f: sequence.path(f) for f in sequence.frames}, str(args.track)):
        print(f"warning: {note}")
    fps = args.fps or plate_fps(sequence)
    progress = make_progress(args.progress)
    progress.start("preview", len(sequence))
    result = render_preview(sequence, track, args.out, colour=ColourSpaces(args.ocio), name=args.name,
                            movie=not args.no_movie, fps=fps, progress=progress.callback())
    progress.finish()
    print(f"contact sheet: {result.contact_sheet}")
    if result.movie:
        print(f"movie: {result.movie}")
    return 0
