"""A DubKernels node's Process or Train button, headless: what a farm task of a Nuke script's job runs.

    nuke -t scripts/dub_process.py SHOT.nk --node NAME [--train] [--frames a-b | --prepare]

It opens the script and runs the node's button through the same plugin code as the GUI (exports
through the node's internal Write, job specs, `dubkernels run`); ``--frames`` does one chunk of the
node's per-frame work (its whole Process afterwards tracks the result); ``--prepare`` exports the inputs and
writes the job specs, running only the jobs before the button's main one (``CACHE/jobs/process.json`` or
``train.json``), which a farm then runs with `dubkernels run` on an engine host, with no Nuke licence. SIGTERM (a farm's cancel) is
passed on to the engine, which finishes the frames in flight, or checkpoints its training, and stops. Needs NUKE_PATH with
nuke_plugin (its init.py) and DUBKERNELS_VENV. Exits 1 with the error's text when the button fails.
"""
from __future__ import annotations

import argparse
import signal
import sys

try:
    import nuke
except ModuleNotFoundError:  # plain python: the script needs Nuke's own
    sys.exit("dub_process.py runs inside Nuke: nuke -t scripts/dub_process.py SHOT.nk --node NAME [--train] "
             "[--frames a-b] (with NUKE_PATH holding nuke_plugin and DUBKERNELS_VENV set).")

from dubkernels_nuke import buttons  # noqa: E402 (after the check: it imports nuke)
from dubkernels_nuke.dknode import is_dubkernels  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="nuke -t scripts/dub_process.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("script", help="the Nuke script")
    parser.add_argument("--node", required=True, help="the DubKernels node to run")
    parser.add_argument("--train", action="store_true", help="its Train button instead of Process")
    parser.add_argument("--frames", help="only this chunk of its per-frame work, e.g. 1001-1010")
    parser.add_argument("--prepare", action="store_true", help="export and write the job specs; leave the main job "
                        "(process.json or train.json) to `dubkernels run`")
    args = parser.parse_args(argv)
    try:
        nuke.scriptOpen(args.script)
    except (RuntimeError, OSError) as exc:  # Nuke raises RuntimeError for a missing or unreadable script
        print(f"dub_process: error: cannot open {args.script}: {exc}", file=sys.stderr)
        return 1
    node = nuke.toNode(args.node)
    if node is None or not is_dubkernels(node):
        print(f"dub_process: error: {args.script} has no DubKernels node named {args.node}.", file=sys.stderr)
        return 1
    # A farm's cancel or pre-emption sends SIGTERM to Nuke: pass it on to the engine, which checkpoints and stops.
    signal.signal(signal.SIGTERM, lambda *_: buttons.stop_requested.set())
    chunk = None
    if args.frames:
        first, _, last = args.frames.partition("-")
        chunk = (int(first), int(last or first))
    try:
        buttons.run_action(node, "train" if args.train else "process", chunk=chunk, prepare=args.prepare)
    except Exception as exc:  # the plugin's errors say what to fix; a farm log shows this line
        print(f"dub_process: error: {exc}", file=sys.stderr)
        return 1
    print(f"dub_process: {args.node}: {'Train' if args.train else 'Process'} {'prepared' if args.prepare else 'done'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
