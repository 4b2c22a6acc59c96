#!/usr/bin/env python3
"""A farm job for a Nuke script with DubKernels nodes: each node's Process (and Train), then the render.

    python scripts/farm_nuke.py SHOT.nk --to openjd|deadline OUTDIR --nuke /opt/Nuke14.0v5/Nuke14.0 \\
        --frames 1001-1100 [--nuke-version 14.0] [--write Write_final] [--chunk 10]

Nuke runs only where Nuke is needed, for seconds: each node's inputs are exported through its internal Writes and
its job specs written by ``nuke -t scripts/dub_process.py SHOT.nk --node NAME --prepare`` (the same code as the
node's buttons). The engine's work runs as ``dubkernels run`` on engine hosts, holding no Nuke licence: a
network's training (``NAME_train``, on a GPU), the node's per-frame job in frame chunks (``NAME_frames``: ``--chunk
a-b``; on a GPU for IdentitySwap and FaceSR unless the node's device is the CPU), the track of its result
(``NAME_after``). Then the node's whole Process in Nuke (``NAME``: every job found current, the node recorded so a
render takes its cache), each after the nodes it reads; then
``nuke -x -X WRITE -F a-b SHOT.nk`` in frame chunks. The script is read with the plugin's reader of Nuke's script
syntax, so this runs without Nuke. Workers get NUKE_PATH (the plugin) and DUBKERNELS_VENV (the engine).
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "nuke_plugin")]

from dubkernels.errors import DubKernelsError  # noqa: E402
from dubkernels.farm.outdir import check  # noqa: E402
from dubkernels.farm.plan import CHUNK, NETWORK_KINDS, FarmError, FarmPlan, FarmStep  # noqa: E402
from dubkernels.io.sequences import parse_frames  # noqa: E402
from dubkernels_nuke.nkscript import ScriptNode, read_script  # noqa: E402
from dubkernels_nuke.nodes import NODE_CLASSES, after_process  # noqa: E402
from dubkernels_nuke.paths import CACHE_DEFAULT_FOLDER, CacheLayout  # noqa: E402

DUB_PROCESS = REPO / "scripts" / "dub_process.py"
ENGINE_TOOL = "Dubkernels"  # the engine's command on the workers, beside Nuke's


def _dubkernels_above(node: ScriptNode) -> list[ScriptNode]:
    """The nearest DubKernels nodes feeding ``node`` (looking through any other nodes)."""
    found: list[ScriptNode] = []
    todo = [i for i in node.inputs if i is not None]
    while todo:
        current = todo.pop()
        if current.cls in NODE_CLASSES:
            if all(current is not f for f in found):
                found.append(current)
        else:
            todo += [i for i in current.inputs if i is not None]
    return found


def _trains(node: ScriptNode) -> bool:
    spec = NODE_CLASSES[node.cls]
    return bool(spec.train) and not node.knobs.get("training_from")


def nuke_version(nuke: str, given: str | None) -> tuple[str, str]:
    """Nuke's major.minor for Deadline's Nuke plugin, and where it came from: ``given`` (--nuke-version), else the
    workers' executable's name (``/opt/Nuke14.0v5/Nuke14.0``), never the script's header (the version it was last
    saved with)."""
    if given:
        if not re.fullmatch(r"\d+\.\d+", given):
            raise FarmError(f"--nuke-version {given}: give major.minor, e.g. 14.0.")
        return given, "--nuke-version"
    found = re.search(r"Nuke(\d+\.\d+)", Path(nuke).name) or re.search(r"Nuke(\d+\.\d+)", nuke)
    if not found:
        raise FarmError(f"--nuke {nuke}: its name does not say Nuke's version; give --nuke-version (e.g. 14.0).")
    return found.group(1), "--nuke"


def cache_of(node: ScriptNode, script: Path) -> CacheLayout:
    """The node's cache folder as the script sets it (its ``cache`` knob, else the default beside the script)."""
    text = node.knobs.get("cache", "").strip()
    if "[" in text or (text and not os.path.isabs(text)):
        raise FarmError(f"{node.name}: cache folder '{text}' is an expression or relative; a farm job needs the "
                        "absolute folder: set it, or leave it empty for the default beside the script.")
    return CacheLayout(text or script.parent / CACHE_DEFAULT_FOLDER / node.name)


def check_files(nodes: list[ScriptNode], script: Path, write: str) -> None:
    """Refuse a script whose plates or output would fail on the farm: a Read or the Write with no file."""
    for node in nodes:
        if node.cls == "Read" and not node.knobs.get("file", "").strip():
            raise FarmError(f"{script}: the Read {node.name} has no file; set its plate before submitting.")
    if not next(n for n in nodes if n.name == write).knobs.get("file", "").strip():
        raise FarmError(f"{script}: the Write {write} has no file; set where the dubbed shot goes.")


def _in_order(steps: list[FarmStep]) -> list[FarmStep]:
    """Steps with each after the steps it needs (a FaceSR may name a training node written after it)."""
    done: list[FarmStep] = []
    names = {s.name for s in steps}
    todo = list(steps)
    while todo:
        ready = next((s for s in todo if all(n in {d.name for d in done} for n in s.needs)), None)
        if ready is None:
            raise FarmError("the DubKernels nodes depend on each other in a loop: "
                            + ", ".join(f"{s.name} needs {[n for n in s.needs if n in names]}" for s in todo))
        done.append(ready)
        todo.remove(ready)
    return done


def node_steps(node: ScriptNode, script: Path, by_name: dict[str, ScriptNode]) -> list[FarmStep]:
    """A DubKernels node's farm steps (see the module's text); Analyze is one Nuke step (its export's analysis)."""
    spec = NODE_CLASSES[node.cls]
    above = [n.name for n in _dubkernels_above(node)]
    base = ["-t", str(DUB_PROCESS), str(script), "--node", node.name]
    if not spec.makes_layer:
        return [FarmStep(node.name, spec.process, base, above, help=f"{node.name}: Analyze")]
    cache, steps, needs = cache_of(node, script), [], list(above)
    device_gpu = node.knobs.get("device", "auto") != "cpu"
    if _trains(node):
        start = node.knobs.get("init_from")
        if start and (start not in by_name or by_name[start].cls != "DK_IdentitySwap"):
            raise FarmError(f"{node.name}: start from '{start}', which is not an IdentitySwap node in this script.")
        steps.append(FarmStep(f"{node.name}_train_jobs", "prepare", base + ["--train", "--prepare"],
                              above + ([f"{start}_train"] if start else []),
                              help=f"{node.name}: Train's exports and job spec (Nuke)"))
        steps.append(FarmStep(f"{node.name}_train", spec.train or "", ["run", str(cache.job("train")), "--progress",
                                                                       "none"], [f"{node.name}_train_jobs"],
                              gpu=True, help=f"{node.name}: its training (the engine, no Nuke)", tool=ENGINE_TOOL))
        needs.append(f"{node.name}_train")
    elif node.knobs.get("training_from"):
        owner = by_name.get(node.knobs["training_from"])
        if owner is None or owner.cls != "DK_FaceSR" or not _trains(owner):
            raise FarmError(f"{node.name}: training from '{node.knobs['training_from']}', which is not a FaceSR "
                            "node that trains in this script.")
        needs.append(f"{owner.name}_train")
    steps.append(FarmStep(f"{node.name}_jobs", "prepare", base + ["--prepare"], needs,
                          help=f"{node.name}: Process's exports and job specs (Nuke)"))
    steps.append(FarmStep(f"{node.name}_frames", spec.process, ["run", str(cache.job("process")), "--progress", "none",
                                                                 "--chunk", CHUNK], [f"{node.name}_jobs"],
                          chunked=True, gpu=spec.process in NETWORK_KINDS and device_gpu,
                          help=f"{node.name}: its per-frame job in chunks (the engine, no Nuke)", tool=ENGINE_TOOL))
    steps.append(FarmStep(f"{node.name}_after", "analyze", ["run", *(str(cache.job(j)) for j in after_process(
        spec.process)), "--progress", "none"], [f"{node.name}_frames"],
                          help=f"{node.name}: the track of its result (the engine, no Nuke)", tool=ENGINE_TOOL))
    steps.append(FarmStep(node.name, spec.process, base, [f"{node.name}_after"],
                          help=f"{node.name}: Process in Nuke, every job found current: the node recorded"))
    return steps


def nuke_plan(script: Path, nuke: str, frames: list[int], write: str, venv: str,
              version: str | None = None) -> FarmPlan:
    """The farm steps of a Nuke script's DubKernels nodes and its render."""
    if not script.is_file():
        raise FarmError(f"{script}: no such Nuke script.")
    for value, what in ((str(script), "the script"), (nuke, "--nuke"), (venv, "--venv")):
        if not os.path.isabs(value):
            raise FarmError(f"{what} {value} is relative; give an absolute path that every worker sees.")
    version, source = nuke_version(nuke, version)
    try:
        nodes = read_script(script)
    except (ValueError, UnicodeDecodeError) as exc:  # the reader's ScriptError, or not text at all
        raise FarmError(f"{script}: not a Nuke script this can read ({exc}); give the .nk saved by Nuke.") from exc
    by_name = {n.name: n for n in nodes}
    if write not in by_name or by_name[write].cls != "Write":
        raise FarmError(f"{script}: no Write node named {write}; give the one to render with --write.")
    check_files(nodes, script, write)
    steps: list[FarmStep] = []
    for node in (n for n in nodes if n.cls in NODE_CLASSES):  # a script lists a node after its inputs
        steps += node_steps(node, script, by_name)
    render = FarmStep("render", "render", ["-x", "-X", write, "-F", CHUNK, str(script)],
                      [n.name for n in _dubkernels_above(by_name[write])], chunked=True,
                      help=f"nuke -x of {write} from the node caches",
                      nuke_render={"script": str(script), "write": write, "version": version,
                                   "version_from": source})
    # The plugin first, then this machine's NUKE_PATH (the studio's gizmos and init scripts the shot may use).
    nuke_path = os.pathsep.join(p for p in (str(REPO / "nuke_plugin"), os.environ.get("NUKE_PATH", "")) if p)
    environment = {"NUKE_PATH": nuke_path, "DUBKERNELS_VENV": venv}
    engine = str(Path(venv) / "bin" / "dubkernels")
    # $OCIO only when set here: otherwise Nuke keeps the script's own colour management on the workers.
    return FarmPlan(script.stem, script.parent, frames, nuke, _in_order(steps) + [render],
                    os.environ.get("OCIO", ""), "absolute path of the Nuke executable on the workers", environment,
                    tools={ENGINE_TOOL: (engine, "absolute path of the dubkernels command on the engine hosts (in "
                                                 "the engine's venv)")})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("script", type=Path, help="the Nuke script (.nk) with DubKernels nodes")
    parser.add_argument("--to", choices=("openjd", "deadline"), required=True)
    parser.add_argument("out", type=Path, metavar="OUTDIR")
    parser.add_argument("--nuke", required=True, help="absolute path of the Nuke executable on the workers")
    parser.add_argument("--nuke-version", help="Nuke's major.minor for Deadline's Nuke plugin (default: from --nuke's "
                                               "name, e.g. Nuke14.0)")
    parser.add_argument("--frames", required=True, help="frames to render, e.g. 1001-1100")
    parser.add_argument("--write", default="Write_final", help="the Write node to render (default: Write_final)")
    parser.add_argument("--venv", default=str(Path(sys.executable).parent.parent),
                        help="the engine's virtual environment on the workers (default: this one)")
    parser.add_argument("--chunk", type=int, default=10, help="frames per render task (default: 10)")
    parser.add_argument("--gpu-group", default="gpu", help="deadline: the group for training (default: gpu)")
    parser.add_argument("--pool", default="", help="deadline: the pool of every job")
    args = parser.parse_args(argv)
    try:
        check(args.out)
        plan = nuke_plan(args.script.absolute(), args.nuke, parse_frames(args.frames), args.write, args.venv,
                         args.nuke_version)
    except (DubKernelsError, OSError, ValueError) as exc:  # ValueError: the script reader's ScriptError
        print(f"farm_nuke: error: {exc}", file=sys.stderr)
        return 2
    if args.to == "openjd":
        from dubkernels.farm.openjd import write_bundle

        print(f"job bundle: {write_bundle(plan, args.out, args.chunk)}")
    else:
        from dubkernels.farm.deadline import write_jobs

        print(f"job files: {args.out}; submit with: python {write_jobs(plan, args.out, args.chunk, args.gpu_group, args.pool)}")
    render = plan.step("render").nuke_render or {}
    print(f"Nuke version: {render.get('version')} (from {render.get('version_from')})")
    print(f"steps: {', '.join(s.name for s in plan.steps)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
