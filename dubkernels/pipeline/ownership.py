"""Which shot a work folder belongs to, and which jobs may write into it.

`dub` records its shot in ``WORK/files.json`` (the shot file and its two takes). A shot file copied for a new
shot whose ``work`` still names the old shot's folder would take over that shot's tracks, frames and report: it is
refused before anything is written. A job run by hand (`dubkernels run`) whose outputs lie in a dub's work folder
must be one of that folder's jobs (``WORK/jobs/``), so another shot's job cannot replace this shot's results.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dubkernels.jobs.spec import Job, JobError
from dubkernels.pipeline.shot import ShotError

MANIFEST = "files.json"


def shot_record(shot: Any) -> dict[str, Any]:
    """What ``files.json`` records of the shot that owns the work folder."""
    return {"shot_file": str(Path(shot.path).resolve()),
            "takes": {"actor": shot.actor.source, "dubber": shot.dubber.source}}


def _manifest(work: Path) -> dict[str, Any]:
    try:
        data = json.loads((work / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def check_owner(shot: Any) -> None:
    """Refuse a shot whose work folder holds another shot's dub: another shot file with other takes. The same
    shot file (a changed take, a changed setting) or the same takes (a renamed shot file) is the same shot."""
    owner = _manifest(shot.work).get("shot")
    if not isinstance(owner, dict) or not owner.get("shot_file"):
        return  # a new folder, or one from before the record
    mine = shot_record(shot)
    if owner["shot_file"] == mine["shot_file"] or owner.get("takes") == mine["takes"]:
        return
    takes = owner.get("takes") or {}
    raise ShotError(
        f"{shot.path}: shot.work = {shot.work} holds the dub of another shot ({owner['shot_file']}: actor "
        f"{takes.get('actor')}, dubber {takes.get('dubber')}); this shot would replace its tracks, frames and "
        f"report. Give this shot a work folder of its own, or delete {shot.work / MANIFEST} to hand the folder "
        "over.")


def job_work_folder(job_file: Path) -> Path | None:
    """The work folder of a job `dub` wrote (``WORK/jobs/NAME.json`` beside ``WORK/files.json``); None for a job
    written by hand or by a Nuke node."""
    jobs = job_file.resolve().parent
    return jobs.parent if jobs.name == "jobs" and (jobs.parent / MANIFEST).is_file() else None


def enclosing_work(path: Path) -> Path | None:
    """The dub work folder ``path`` lies in (the nearest folder above it holding ``files.json`` and ``jobs/``)."""
    for folder in Path(path).resolve().parents:
        if (folder / MANIFEST).is_file() and (folder / "jobs").is_dir():
            return folder
    return None


def check_job_belongs(job: Job, job_file: Path) -> None:
    """Refuse a job that writes into a dub's work folder without being one of its jobs."""
    own = job_work_folder(job_file)
    for name, value in job.outputs.items():
        work = enclosing_work(Path(value))
        if work is not None and work != own:
            raise JobError(
                f"{job_file}: output {name} ({value}) lies in the work folder {work} of another dub, and this job is "
                f"not one of its jobs ({work / 'jobs'}); it would replace that shot's results. Run that folder's "
                "own job, write this one's outputs elsewhere, or pass --force to write there anyway.")
