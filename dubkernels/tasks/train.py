"""The ``train`` and ``train_sr`` jobs: per-shot training of the Y-network, and FaceSR's fine-tune on the actor
plate, into a run folder, resumable.

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
from typing import Any, Callable

from dubkernels.colour import colour_spaces
from dubkernels.errors import Interrupted
from dubkernels.io.files import atomic_write_text
from dubkernels.jobs.progress import Progress
from dubkernels.jobs.spec import Job, JobError
from dubkernels.jobs.summary import Summary
from dubkernels.nets.config import PRESETS, Config, load_config
from dubkernels.nets.device import pick_device
from dubkernels.tasks.common import Task
from dubkernels.train.datasets import EpochDataset, PairDataset
from dubkernels.train.prepare import ACTOR_ROLES, DUBBER_ROLES, FaceClip, load_or_extract
from dubkernels.train.sr_data import SRDataset, downsample, self_swapped
from dubkernels.tracks import load_track
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


def _restore(folder: Path, identity: str) -> bool:
    """Move the run of job ``identity`` back from ``superseded/`` (a setting tried and undone); whether there was
    one."""
    earlier = folder / "superseded" / identity
    if not (earlier / LATEST).is_file():
        return False
    for path in earlier.iterdir():
        shutil.move(str(path), str(folder / path.name))
    earlier.rmdir()
    return True


LEFTOVERS = frozenset({"crops", "superseded", "previews", "loss.jsonl"})  # what a run that never finished leaves


def _prepare_folder(folder: Path, identity: str, force: bool) -> list[str]:
    if folder.exists() and not folder.is_dir():
        raise JobError(f"{folder} is a file; give train a run folder.")
    stamp = read_stamp(folder)
    notes = []
    if stamp and stamp.get("job") != identity:
        moved = _supersede(folder, str(stamp.get("job")))
        notes.append(f"inputs or settings changed: the earlier run moved to {moved}")
    if not read_stamp(folder) and _restore(folder, identity):
        return notes + [f"the run of these inputs and settings came back from {folder / 'superseded' / identity}; "
                        "training on from its checkpoint"]
    if notes:
        return [notes[0] + "; training afresh"]
    foreign = [p.name for p in folder.iterdir() if p.name not in LEFTOVERS] if folder.is_dir() else []
    if not stamp and foreign and not (folder / LATEST).is_file() and not force:
        raise JobError(f"{folder} holds files that are not a dubkernels run ({', '.join(sorted(foreign)[:3])}); "
                       "choose another run folder, or pass --force to train there.")
    return []


def check_init(init: Path, config: Config) -> None:
    """Refuse a pre-training checkpoint that is missing, unreadable or of another network than ``config``'s:
    before the run folder is touched, so a bad ``init`` never moves a trained run aside."""
    from dubkernels.nets.checkpoint import CheckpointError, load_checkpoint

    try:
        load_checkpoint(init, config, config.arch)
    except CheckpointError as exc:
        raise JobError(f"train init: {exc} Give a dubkernels network checkpoint, or leave init empty.") from exc


def loader_workers(requested: int) -> int:
    """Data-loading processes: as asked, or for -1 a quarter of the cores (at most 4; none on a small machine)."""
    return requested if requested >= 0 else min(4, (os.cpu_count() or 1) // 4)


def run_train(job: Job, *, force: bool = False, progress: Progress | None = None, **_: object) -> Summary:
    """Train (or resume) the job's Y-network; its latest checkpoint is OUT/latest.safetensors."""
    return _run(job, force, progress or Progress(), _pair_dataset, lambda config: config.ynet)


def run_train_sr(job: Job, *, force: bool = False, progress: Progress | None = None, **_: object) -> Summary:
    """Fine-tune (or resume) FaceSR on the actor plate; its latest checkpoint is OUT/latest.safetensors."""
    return _run(job, force, progress or Progress(), _sr_dataset, lambda config: _check_sr(job, config))


def _check_sr(job: Job, config: Config) -> None:
    """A FaceSR config whose input size is the swap checkpoint's (checked before the run folder is touched)."""
    sr = config.sr
    if job.inputs.get("swap_checkpoint"):
        from dubkernels.nets.checkpoint import load_checkpoint

        swap = load_checkpoint(job.inputs["swap_checkpoint"]).config.ynet
        if swap.resolution != sr.resolution:
            raise JobError(f"train_sr: the swap checkpoint works at {swap.resolution} px but FaceSR "
                           f"'{config.name}' takes {sr.resolution} px; choose the FaceSR preset of the swap's size.")


def _pair_dataset(job: Job, config: Config, folder: Path, seed: int, progress: Progress) -> EpochDataset:
    """Actor-side and dubber-side crops at the Y-network's size."""
    colour = colour_spaces(job.ocio)
    roles = [r for r in ACTOR_ROLES + DUBBER_ROLES if job.inputs.get(r)]
    sets = []
    for role in roles:
        clip = FaceClip(job.inputs[role], job.inputs[f"{role}_track"], role)
        progress.start(f"crops {role}", None)
        sets.append(load_or_extract(clip, config.ynet.resolution, folder / "crops", colour, progress.callback(),
                                    progress.set_total))
        progress.finish()
    return PairDataset([s for s in sets if s.role in ACTOR_ROLES], [s for s in sets if s.role in DUBBER_ROLES],
                       seed=seed)


def _sr_dataset(job: Job, config: Config, folder: Path, seed: int, progress: Progress) -> EpochDataset:
    """The actor's crops at FaceSR's output size, and their self-swapped versions when a swap checkpoint is given."""
    sr = config.sr
    clip = FaceClip(job.inputs["actor"], job.inputs["actor_track"], "actor")
    progress.start("crops actor", None)
    crops = load_or_extract(clip, sr.output, folder / "crops", colour_spaces(job.ocio), progress.callback(),
                            progress.set_total)
    progress.finish()
    swapped = None
    if job.inputs.get("swap_checkpoint"):
        from dubkernels.nets.checkpoint import load_checkpoint
        from dubkernels.nets.ynet import ActorSwap, YNet

        ckpt = load_checkpoint(job.inputs["swap_checkpoint"])
        net = YNet(ckpt.config.ynet)
        net.load_state_dict(ckpt.weights)
        progress.start("self-swap actor crops", len(crops))
        swapped = self_swapped(downsample(crops.images, sr.resolution), ActorSwap(net).eval(), progress=progress.callback())
        progress.finish()
    return SRDataset(crops, sr.scale, swapped, seed=seed, patch=config.train.patch)


def _cpu_budget(job: Job, config: str, iterations: int, device: str, seconds_per_frame: float) -> float:
    """Minutes of training for a preset (its iterations planned for a GPU) run on the CPU with no iterations or
    minutes given: ``seconds_per_frame`` per frame of the actor's track; 0 otherwise."""
    if iterations or not seconds_per_frame or config not in PRESETS or pick_device(device).type != "cpu":
        return 0.0
    return seconds_per_frame * len(load_track(job.inputs["actor_track"]).frames) / 60.0


def _run(job: Job, force: bool, progress: Progress, dataset_for: Callable[[Job, Config, Path, int, Progress], EpochDataset],
         check: Callable[[Config], object]) -> Summary:
    """Train the job's network into its run folder: resume, skip when done, supersede another job's run.
    ``check`` refuses a config (or inputs) of another network before anything is written."""
    start = time.monotonic()
    task = Task.of(job)
    p = task.params
    pick_device(p.device)  # a bad device fails before the crops are made
    config = load_config(p.config)
    check(config)
    folder = Path(job.outputs["out"])
    identity = task.identity()
    target = p.iterations or config.train.iterations
    summary = Summary(task.kind.name, identity, f"{target} iterations", outputs=[str(folder / LATEST)])
    stamp = read_stamp(folder)
    if not force and stamp and stamp.get("job") == identity and stamp.get("iteration", 0) >= target:
        summary.notes.append(f"{folder} already trained to iteration {stamp['iteration']}; skipped")
        return summary
    init = Path(job.inputs["init"]) if job.inputs.get("init") else None
    if init is not None:
        check_init(init, config)
    summary.notes += _prepare_folder(folder, identity, force)
    dataset = dataset_for(job, config, folder, p.seed, progress)
    minutes = p.minutes or _cpu_budget(job, p.config, p.iterations, p.device, p.cpu_seconds_per_frame)
    if minutes and not p.minutes:
        summary.notes.append(f"the {p.config} preset on the CPU with neither iterations nor minutes given: a budget "
                             f"of {minutes:.1f} min ({p.cpu_seconds_per_frame:g} s per frame of the shot); set "
                             "train.minutes or train.iterations to choose")
    options = TrainOptions(folder, "shot", init, target, p.seed, loader_workers(p.workers), p.device, minutes)
    trainer = Trainer(config, dataset, options, progress)
    latest = trainer.run()
    atomic_write_text(folder / STAMP, json.dumps({"job": identity, "iteration": trainer.iteration,
                                                  "target": target}, indent=1) + "\n")
    summary.seconds = time.monotonic() - start
    summary.outputs = [f"{latest} (iteration {trainer.iteration} of {trainer.total})",
                       f"loss log {folder / 'loss.jsonl'}; previews {folder / 'previews'}"]
    if trainer.stopped_by == "signal":
        raise Interrupted(f"{task.kind.name}: stopped by a signal at iteration {trainer.iteration} of "
                          f"{trainer.total}; checkpoint {latest} saved. Run the same command again to resume.")
    if trainer.stopped_by == "budget" and not p.minutes:  # the CPU's budget is the plan: the run is complete
        summary.notes.append(f"the CPU budget of {minutes:.3g} min reached at iteration {trainer.iteration} of "
                             f"{trainer.total}; give train.minutes to train on")
    elif trainer.stopped_by == "budget":
        summary.notes.append(f"time budget of {minutes:.3g} min reached at iteration {trainer.iteration} of "
                             f"{trainer.total}; checkpoint saved, a rerun goes on training")
    return summary
