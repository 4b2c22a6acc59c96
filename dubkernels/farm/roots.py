"""The shot's roots on a farm: the folders every path of its job lies under, named once.

A farm job runs where the shot's folders may be mounted elsewhere (another OS, another host, Deadline Cloud's
job attachments). So the job names its folders once, as Open Job Description PATH parameters with their data
flow, which the farm maps per host, and writes every path relative to one of them:

- in the steps' arguments, ``{root:NAME}/rest`` (each front end fills it: ``{{Param.NAMEDir}}/rest`` for Open Job
  Description, the folder itself for Deadline 10);
- in the job specs and the work folder's manifest, a path under the work folder relative to it (as `dub` writes
  them), and any other ``${DUBKERNELS_ROOT_NAME}/rest``: the job's environment sets the variable to the (mapped)
  root, and the engine expands it when it reads the job (:func:`dubkernels.jobs.spec.expand_roots`).

Example:
    >>> roots = shot_roots(shot, other_paths)
    >>> rooted("/show/plates/a0/a0.####.exr", roots)   # '${DUBKERNELS_ROOT_ACTOR}/a0.####.exr'
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable

from dubkernels.jobs.spec import ROOT_PREFIX


@dataclass(frozen=True)
class Root:
    """One folder of the job: its name, where it is on this machine, and whether the job reads or writes it."""

    name: str  # Work, Actor, Dubber, Output, File1...
    folder: Path
    data_flow: str  # IN, OUT or INOUT
    help: str

    @property
    def parameter(self) -> str:
        return f"{self.name}Dir"

    @property
    def variable(self) -> str:
        return f"{ROOT_PREFIX}{self.name.upper()}"

    def holds(self, path: Path) -> bool:
        return path == self.folder or self.folder in path.parents


def _absolute(value: str) -> Path | None:
    return Path(os.path.abspath(value)) if os.path.isabs(value) and "://" not in value else None


def shot_roots(shot: Any, paths: Iterable[str] = ()) -> list[Root]:
    """The work folder, the takes' and the output's folders, and the folder of each other file in ``paths``
    (a config, a model, the dubbed line's sound) that none of them holds."""
    roots = [Root("Work", Path(os.path.abspath(shot.work)), "INOUT", "the shot's work folder: job specs, every "
                                                                    "intermediate, tracks, checkpoints, the report")]
    for name, value, flow, help in (
            ("Actor", shot.actor.source, "IN", "the folder of the actor take"),
            ("Dubber", shot.dubber.source, "IN", "the folder of the dubber take"),
            ("Output", shot.output, "OUT", "the folder the final shot and its line are written to")):
        folder = Path(os.path.abspath(value)).parent
        shared = next((i for i, r in enumerate(roots) if r.folder == folder), None)
        if shared is None:
            roots.append(Root(name, folder, flow, help))
        else:  # one root for both (the takes in one folder, an output beside a take): read and written if either is
            first = roots[shared]
            roots[shared] = replace(first, help=f"{first.help}; and {help}",
                                    data_flow=first.data_flow if first.data_flow == flow else "INOUT")
    for value in paths:
        path = _absolute(value)
        if path is not None and not any(r.holds(path) for r in roots):
            number = 1 + sum(r.name.startswith("File") for r in roots)
            roots.append(Root(f"File{number}", path.parent, "IN", f"the folder of {path.name}"))
    return roots


def _under(value: str, roots: list[Root]) -> tuple[Root, str] | None:
    """The deepest root holding ``value`` and the rest of the path below it (``/rest``, or empty); None when
    ``value`` is no absolute path or no root holds it."""
    path = _absolute(value)
    holding = [r for r in roots if path is not None and r.holds(path)]
    if path is None or not holding:
        return None
    root = max(holding, key=lambda r: len(r.folder.parts))
    rest = path.relative_to(root.folder).as_posix()
    return root, "" if rest == "." else f"/{rest}"


def rooted(value: str, roots: list[Root]) -> str:
    """``value`` as ``${DUBKERNELS_ROOT_NAME}/rest`` under the deepest root that holds it (unchanged when none
    does, or it is not an absolute path)."""
    found = _under(value, roots)
    return value if found is None else f"${{{found[0].variable}}}{found[1]}"


def argument(value: str, roots: list[Root]) -> str:
    """``value`` as ``{root:NAME}/rest`` for a step's arguments (see :func:`fill`)."""
    found = _under(value, roots)
    return value if found is None else f"{{root:{found[0].name}}}{found[1]}"


def fill(arg: str, value_of: dict[str, str]) -> str:
    """A step argument with its ``{root:NAME}`` replaced by ``value_of[NAME]``."""
    for name, value in value_of.items():
        arg = arg.replace(f"{{root:{name}}}", value)
    return arg
