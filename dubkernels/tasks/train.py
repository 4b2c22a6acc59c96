"""The ``train`` job: per-shot training of the Y-network into a run folder, resumable.

The run folder's ``job.json`` holds the identity of the job that trains into it and how far it
got. The same job resumes (or is skipped once it reached its iterations); a job with other
inputs or settings moves the old run to ``superseded/IDENTITY/`` and starts afresh (nothing is
deleted). A signal checkpoints and exits non-zero; a time budget (``minutes``) checkpoints and
counts as done for now: the next run goes on training.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from dubkernels.colour import colour_spaces
from dubkernels.errors import Interrupted
from dubkernels.io.files import atomic_write_text
from dubkernels.jobs.progress import Progress
from dubkernels.jobs.spec import Job, JobError
from dubkernels.jobs.summary import Summary
from dubkernels.nets.config import load_config
from dubkernels.nets.device import pick_device
from dubkernels.tasks.common import Task
from dubkernels.train.data import ACTOR_ROLES, DUBBER_ROLES, FaceClip, PairDataset, load_or_extract
from dubkernels.train.trainer import LATEST, Trainer, TrainOptions

STAMP = "job.json"
RUN_FILES = ("latest.safetensors*", "iter_*.safetensors", "loss.jsonl", "previews")


def read_stamp(folder: Path) -> dict[str, Any] | None:
    """The run folder's job stamp, None when there is none (or it is unreadable)."""
    try:
        data = json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _supersede(folder: Path, old: str) -> Path:
    """Move an earlier run's checkpoints, log and previews to ``superseded/OLD/``; the crop cache stays."""
    target = folder / "superseded" / old
    target.mkdir(parents=True, exist_ok=True)
    for pattern in RUN_FILES:
        for path in folder.glob(pattern):
            shutil.move(str(path), str(target / path.name))
    (folder / STAMP).unlink(missing_ok=True)
    return target


def _prepare_folder(folder: Path, identity: str, force: bool) -> list[str]:
    if folder.exists() and not folder.is_dir():
        raise JobError(f"{folder} is a file; give train a run folder.")
    stamp = read_stamp(folder)
    if stamp and stamp.get("job") != identity:
        moved = _supersede(folder, str(stamp.get("job")))
        return [f"inputs or settings changed: the earlier run moved to {moved}; training afresh"]
    if folder.is_dir() and not stamp and any(folder.iterdir()) and not (folder / LATEST).is_file() and not force:
        raise JobError(f"{folder} holds files that are not a dubkernels run; choose another run folder, or pass "
                       "--force to train there.")
    return []


def loader_workers(requested: int) -> int:
    """Data-loading processes: as asked, or for -1 a quarter of the cores (at most 4; none on a small machine)."""
    return requested if requested >= 0 else min(4, (os.cpu_count() or 1) // 4)


def run_train(job: Job, *, force: bool = False, progress: Progress | None = None, **_: object) -> Summary:
    """Train (or resume) the job's network; its latest checkpoint is OUT/latest.safetensors."""
    start = time.monotonic()
    progress = progress or Progress()
    task = Task.of(job)
    p = task.params
    pick_device(p.device)  # a bad device fails before the crops are made
    config = load_config(p.config)
    folder = Path(job.outputs["out"])
    identity = task.identity()
    target = p.iterations or config.train.iterations
    summary = Summary("train", identity, f"{target} iterations", outputs=[str(folder / LATEST)])
    stamp = read_stamp(folder)
    if not force and stamp and stamp.get("job") == identity and stamp.get("iteration", 0) >= target:
        summary.notes.append(f"{folder} already trained to iteration {stamp['iteration']}; skipped")
        return summary
    summary.notes += _prepare_folder(folder, identity, force)
    colour = colour_spaces(job.ocio)
    roles = [r for r in ACTOR_ROLES + DUBBER_ROLES if job.inputs.get(r)]
    sets = []
    for role in roles:
        clip = FaceClip(job.inputs[role], job.inputs[f"{role}_track"], role)
        progress.start(f"crops {role}", None)
        sets.append(load_or_extract(clip, config.ynet.resolution, folder / "crops", colour, progress.callback(),
                                    progress.set_total))
        progress.finish()
    dataset = PairDataset([s for s in sets if s.role in ACTOR_ROLES], [s for s in sets if s.role in DUBBER_ROLES],
                          seed=p.seed)
    init = Path(job.inputs["init"]) if job.inputs.get("init") else None
    options = TrainOptions(folder, "shot", init, target, p.seed, loader_workers(p.workers), p.device, p.minutes)
    trainer = Trainer(config, dataset, options, progress)
    latest = trainer.run()
    atomic_write_text(folder / STAMP, json.dumps({"job": identity, "iteration": trainer.iteration,
                                                  "target": target}, indent=1) + "\n")
    summary.seconds = time.monotonic() - start
    summary.outputs = [f"{latest} (iteration {trainer.iteration} of {trainer.total})",
                       f"loss log {folder / 'loss.jsonl'}; previews {folder / 'previews'}"]
    if trainer.stopped_by == "signal":
        raise Interrupted(f"train: stopped by a signal at iteration {trainer.iteration} of {trainer.total}; "
                          f"checkpoint {latest} saved. Run the same command again to resume.")
    if trainer.stopped_by == "budget":
        summary.notes.append(f"time budget of {p.minutes:g} min reached at iteration {trainer.iteration} of "
                             f"{trainer.total}; checkpoint saved, a rerun goes on training")
    return summary
