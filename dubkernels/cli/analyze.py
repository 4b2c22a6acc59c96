"""``dubkernels analyze``: face track of a plate."""
from __future__ import annotations

import argparse
from pathlib import Path

from dubkernels.analysis import AnalysisSettings, analyze_sequence
from dubkernels.cli.common import add_colour_options, add_frames_option, progress_bar
from dubkernels.colour import ColourSpaces
from dubkernels.face.detect import DETECTORS
from dubkernels.io.sequences import resolve_sequence
from dubkernels.tracks import merge_overrides, save_track

HELP = "detect, landmark and track the face of a plate; write its track file"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help=HELP, description=HELP + ". Later stages only read the track.")
    p.add_argument("plate", help="EXR sequence pattern, e.g. plates/shot.####.exr")
    p.add_argument("--out", required=True, type=Path, help="track file to write (JSON)")
    add_frames_option(p)
    add_colour_options(p)
    p.add_argument("--colourspace", help="colourspace of the plate (default: the config's scene_linear role)")
    p.add_argument("--detector", choices=DETECTORS, default="hog", help="dlib HOG (fast, default) or CNN (robust, slow)")
    p.add_argument("--detect-size", type=int, default=640, help="longer side of the frame for face detection (default 640)")
    p.add_argument("--max-gap", type=int, default=5, help="fill up to this many faceless frames by interpolation (default 5)")
    p.add_argument("--passthrough-missing", action="store_true", help="flag longer faceless runs as missing instead of failing")
    p.add_argument("--face-hint", type=float, nargs=2, metavar=("X", "Y"), help="plate point on the face to keep when there are several")
    p.add_argument("--predictor", help="your own 68-point dlib shape predictor .dat (default: face-recognition-models')")
    p.add_argument("--overrides", type=Path, help="user overrides file (hand-corrected landmarks) merged on top")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    sequence = resolve_sequence(args.plate, args.frames)
    colour = ColourSpaces(args.ocio)
    settings = AnalysisSettings(
        detector=args.detector, detect_size=args.detect_size, max_gap=args.max_gap,
        passthrough_missing=args.passthrough_missing,
        face_hint=tuple(args.face_hint) if args.face_hint else None,
        colourspace=colour.resolve(args.colourspace) if args.colourspace else None,
        predictor=args.predictor,
    )
    with progress_bar(len(sequence), "analyze") as bar:
        track = analyze_sequence(sequence, settings, colour, progress=bar.update)
    if args.overrides:
        merge_overrides(track, args.overrides)
    save_track(track, args.out)
    counts = ", ".join(f"{n} {flag}" for flag, n in track.counts().items() if n)
    print(f"track: {args.out} ({len(track.records)} frames: {counts})")
    for note in track.notes:
        print(f"note: {note}")
    return 0
