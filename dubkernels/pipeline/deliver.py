"""Deliver a shot: the candidate the report ranked best (or the one the shot file pins) composited over the whole
plate into the shot's output.

The dub writes one delivery job per candidate (``WORK/jobs/deliver_own.json``, ``deliver_own_chin.json``,
``deliver_pass1.json``, ``deliver_pass2.json``: a MouthComposite of that candidate's face layer at plate extent)
and names them in ``WORK/files.json`` with the shot's pin. ``dubkernels deliver WORK`` (a farm step after the report, in frame
chunks) and ``dub`` run the chosen one; the choice is read from the pin or the report's ``delivery.json``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from dubkernels.errors import DubKernelsError
from dubkernels.jobs.spec import Job, load_job, save_job
from dubkernels.report.bar import CANDIDATES, DELIVER_CHOICES, NAMES

DELIVERY_REPORT = Path("report") / "delivery.json"


class DeliverError(DubKernelsError):
    """Nothing to deliver yet, or a choice the work folder cannot honour."""


def delivery_job_path(work: Path, result: str) -> Path:
    return work / "jobs" / f"deliver_{result}.json"


def save_deliveries(work: Path, deliveries: dict[str, Job],
                    outside: Callable[[str], str] | None = None) -> dict[str, str]:
    """Write each candidate's delivery job (paths outside the work folder through ``outside`` where given);
    returns result -> job path (for ``files.json``)."""
    paths = {}
    for result, job in deliveries.items():
        path = delivery_job_path(work, result)
        save_job(job, path, root=work, outside=outside)
        paths[result] = str(path)
    return paths


def _manifest(work: Path) -> dict[str, Any]:
    path = work / "files.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DeliverError(f"{path} cannot be read ({exc}): {work} is not a dub work folder; run `dubkernels dub` "
                           "first.") from exc
    return data if isinstance(data, dict) else {}


def chosen_result(work: Path) -> tuple[str, bool]:
    """The result to deliver (own, own_chin, pass1 or pass2) and whether the shot file pinned it."""
    pin = str(_manifest(work).get("deliver", "auto"))
    if pin not in DELIVER_CHOICES:
        raise DeliverError(f"{work / 'files.json'}: deliver = {pin!r}; choose one of {', '.join(DELIVER_CHOICES)}.")
    if pin != "auto":
        return CANDIDATES[pin], True
    path = work / DELIVERY_REPORT
    try:
        result = json.loads(path.read_text(encoding="utf-8"))["result"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DeliverError(f"{path} is missing or unreadable: the report ranks the candidates before one is "
                           f"delivered. Run `dubkernels report {work}` first, or pin a candidate in the shot file "
                           f"([shot] deliver = \"own_mouth\", \"own_chin\", \"pass1\" or \"pass2\").") from exc
    if result not in NAMES:
        raise DeliverError(f"{path}: unknown candidate {result!r}; run `dubkernels report {work}` again.")
    return str(result), False


def delivery_job(work: Path) -> tuple[str, bool, Job]:
    """The chosen result, whether it was pinned, and its delivery job."""
    result, pinned = chosen_result(work)
    named = _manifest(work).get("deliveries", {}).get(result)
    path = work / named if named else delivery_job_path(work, result)  # relative to the work folder, or absolute
    if not path.is_file():
        raise DeliverError(f"{path} not found: the work folder has no delivery job for {NAMES[result]}; run "
                           "`dubkernels dub` on the shot file again to write it.")
    return result, pinned, load_job(path)
