"""Entry point of the ``dubkernels`` command."""
from __future__ import annotations

import argparse
import logging
import sys

from dubkernels._version import __version__
from dubkernels.cli import analyze, demo, ingest, preview, sample, stages, train
from dubkernels.errors import EXIT_USER_ERROR, DubKernelsError

COMMANDS = (ingest, analyze, sample, preview, demo, stages, train)
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dubkernels",
        description="Visual dubbing for VFX: change the actor's mouth, keep every other pixel of the plate.",
        epilog="Run `dubkernels COMMAND --help` for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"dubkernels {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details (notes, timings)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        return int(args.run(args) or 0)
    except DubKernelsError as exc:
        print(f"dubkernels {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"dubkernels {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
