"""A farm job's folder: written only where dubkernels wrote before, never over someone's own files.

``dubkernels farm`` and ``scripts/farm_nuke.py`` record the files they write in ``OUTDIR/.dubkernels-farm``; a
later job into the same folder may replace those, and a file of the same name that is not listed there (the
user's own template.yaml, parameter_values.yaml or submit.py) stops it before anything is written.
"""
from __future__ import annotations

import json
from pathlib import Path

from dubkernels.errors import DubKernelsError
from dubkernels.io.files import atomic_write_text

RECORD = ".dubkernels-farm"


class OutdirError(DubKernelsError):
    """The job folder holds files dubkernels did not write."""


def _written(outdir: Path) -> set[str]:
    try:
        data = json.loads((outdir / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return set(data.get("files", [])) if isinstance(data, dict) else set()


OURS = ("template.yaml", "parameter_values.yaml", "job_parameters.yaml", "jobs.json", "submit.py", "*_info.txt")


def check(outdir: Path) -> None:
    """Refuse ``outdir`` when it holds a file of the names a farm job writes that dubkernels did not write."""
    if not outdir.is_dir():
        return
    ours = _written(outdir)
    theirs = sorted({p.name for pattern in OURS for p in outdir.glob(pattern)} - ours)
    if theirs:
        raise OutdirError(f"{outdir} holds {', '.join(theirs[:3])}{' ...' if len(theirs) > 3 else ''}, which "
                          "dubkernels did not write; a farm job is never written over your files. Choose an empty or "
                          "new folder.")


def claim(outdir: Path, names: list[str]) -> None:
    """:func:`check` ``outdir``, then record ``names`` as written by dubkernels (before they are written)."""
    check(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(outdir / RECORD, json.dumps({"files": sorted(_written(outdir) | set(names))}, indent=1) + "\n")
