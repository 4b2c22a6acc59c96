"""The training loop of every network (the Y-network's pre-training and per-shot training, FaceSR's
fine-tune); what is particular to a network is its recipe (:mod:`dubkernels.train.recipes`).

Long-run behaviour: device auto (CUDA, else CPU), AMP and channels-last on CUDA,
checkpoints every ``checkpoint_every`` iterations, on Ctrl-C / SIGTERM and when a
time budget runs out, exact resume (weights, optimiser, RNG and the position in
the epoch's sample order), seeds, progress with loss and ETA, a loss log (JSON
lines, flushed every line) and preview grids written as PNG so a person can watch it learn. Thread counts are set so
the main process and the loader workers never oversubscribe the cores.
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np
import torch

from dubkernels.io.files import atomic_write_text
from dubkernels.jobs.progress import Progress
from dubkernels.nets.checkpoint import load_checkpoint, load_state, save_checkpoint
from dubkernels.nets.config import Config
from dubkernels.nets.device import pick_device
from dubkernels.preview import write_png
from dubkernels.train.datasets import EpochDataset, EpochShuffle, make_loader
from dubkernels.train.recipes import RECIPES, Recipe

LATEST = "latest.safetensors"


@dataclass
class TrainOptions:
    out_dir: Path
    kind: str = "shot"  # "pretrain" or "shot"
    init: Path | None = None  # pre-trained checkpoint: encoder + style module are loaded
    iterations: int | None = None  # default: the config's
    seed: int = 0
    workers: int = 0
    device: str = "auto"
    minutes: float = 0.0  # stop with a checkpoint after this long (0: no limit)


class Trainer:
    """Trains the network of ``config`` (its recipe) on a dataset, writing checkpoints, a loss log and previews
    to ``out_dir``."""

    def __init__(self, config: Config, dataset: EpochDataset, options: TrainOptions, progress: Progress | None = None,
                 recipe: Recipe | None = None):
        self.config, self.dataset, self.options = config, dataset, options
        self.recipe = recipe or RECIPES[config.arch]
        self.progress = progress or Progress()
        self.stopped_by: str | None = None  # "signal" or "budget" when the run ended before ``total``
        self.device = pick_device(options.device)
        _share_cores(options.workers, self.device)
        self.amp = self.device.type == "cuda"
        torch.manual_seed(options.seed)
        self.net = self.recipe.build(config).to(self.device)
        if self.amp:
            self.net = self.net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.train.lr)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.iteration = 0
        self.out = Path(options.out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self._stop = threading.Event()
        if (self.out / LATEST).is_file():
            self._resume()
        elif options.init:
            self._load_pretrained(options.init)

    @property
    def total(self) -> int:
        return self.options.iterations or self.config.train.iterations

    def _load_pretrained(self, path: Path) -> None:
        self.recipe.init_weights(self.net, load_checkpoint(path, self.config, self.config.arch), path)

    def _resume(self) -> None:
        path = self.out / LATEST
        ckpt = load_checkpoint(path, self.config, self.config.arch)
        self.net.load_state_dict(ckpt.weights)
        state = load_state(path)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"])
        self.iteration = ckpt.iteration

    def _state(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "scaler": self.scaler.state_dict(),
                "rng": torch.get_rng_state()}

    def save(self) -> Path:
        """Checkpoint now: latest.safetensors (+ state) and a numbered copy of the weights."""
        path = self.out / LATEST
        save_checkpoint(path, self.net, self.config, self.options.kind, self.iteration, self._state())
        save_checkpoint(self.out / f"iter_{self.iteration:06d}.safetensors", self.net, self.config,
                        self.options.kind, self.iteration)
        return path

    def _batches(self) -> Iterator[dict[str, torch.Tensor]]:
        """Batches from one long-lived loader, from the current iteration's place in its epoch on."""
        batch = self.config.train.batch_size
        per_epoch = max(1, len(self.dataset) // batch)
        loader = make_loader(self.dataset, batch, self.options.workers, self.options.seed)
        sampler = loader.sampler
        assert isinstance(sampler, EpochShuffle)
        while True:
            epoch, position = divmod(self.iteration, per_epoch)
            self.dataset.set_epoch(epoch)
            sampler.start = position * batch
            yield from loader

    def step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """One iteration: the recipe's forward pass (under autocast on a GPU) and loss, one optimiser step."""
        self.net.train()
        b = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        if self.amp:
            b = {k: v.contiguous(memory_format=torch.channels_last) for k, v in b.items()}
        with torch.autocast(self.device.type, enabled=self.amp):
            out = self.recipe.forward(self.net, b)
        loss, parts = self.recipe.loss(out, b, self.config)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return parts

    def preview(self, batch: dict[str, torch.Tensor]) -> Path:
        """A PNG grid of the recipe's preview rows."""
        self.net.eval()
        with torch.no_grad():
            rows = self.recipe.preview_rows(self.net, batch, self.device)
        grid = torch.cat(rows, dim=1).clamp(0, 1).permute(1, 2, 0).float().cpu().numpy()
        path = self.out / "previews" / f"iter_{self.iteration:06d}.png"
        write_png(path, (grid * 255 + 0.5).astype(np.uint8))
        return path

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._stop.set()

    def run(self) -> Path:
        """Train up to ``total`` iterations; returns the latest checkpoint. Ctrl-C/SIGTERM checkpoint and stop."""
        cfg = self.config.train
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            handlers = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        _trim_log(self.out / "loss.jsonl", self.iteration)
        log = (self.out / "loss.jsonl").open("a", encoding="utf-8", buffering=1)  # line-buffered: a kill loses nothing
        began, first = time.monotonic(), self.iteration
        deadline = began + 60.0 * self.options.minutes if self.options.minutes > 0 else None
        progress = self.progress
        progress.start(f"train {self.options.kind}", self.total, unit="it")
        progress.advance(self.iteration)
        try:
            for batch in self._batches():
                if self.iteration >= self.total:
                    break
                if self._stop.is_set():
                    self.stopped_by = "signal"
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    self.stopped_by = "budget"
                    break
                losses = self.step(batch)
                self.iteration += 1
                log.write(json.dumps({"iteration": self.iteration, **losses}) + "\n")
                if deadline is not None and (self.iteration - first) in BUDGET_CHECKS:
                    progress.set_total(_within_budget(self.total, self.iteration, first, began, deadline))
                progress.advance(1)
                progress.message(f"loss={losses['loss']:.4f}")
                if self.iteration % cfg.preview_every == 0 or self.iteration == self.total:
                    self.preview(batch)
                if self.iteration % cfg.checkpoint_every == 0:
                    self.save()
        finally:
            progress.finish()
            log.close()
            for s, h in handlers.items():
                signal.signal(s, h)
        return self.save()


def _trim_log(path: Path, iteration: int) -> None:
    """Drop the lines of ``path`` past ``iteration``: a run killed after its last checkpoint logged iterations the
    resumed run does again, and each iteration is logged once."""
    if not path.is_file():
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = []
    for line in lines:
        try:
            if json.loads(line)["iteration"] <= iteration:
                kept.append(line)
        except (json.JSONDecodeError, KeyError, TypeError):
            pass  # a line cut by the kill
    if len(kept) != len(lines):
        atomic_write_text(path, "".join(f"{line}\n" for line in kept))


BUDGET_CHECKS = frozenset((3, 10, 30, 100, 300, 1000, 3000))  # iterations into a run when the bar's end is re-estimated


def _within_budget(total: int, iteration: int, first: int, began: float, deadline: float) -> int:
    """The iterations a run with a time budget will reach: ``total``, or fewer where the time left at the pace so
    far (``iteration - first`` iterations since ``began``) runs out first; the progress bar ends (and estimates its
    time left) there, not at an iteration count the budget never reaches."""
    now = time.monotonic()
    pace = (now - began) / max(iteration - first, 1)
    return min(total, iteration + int(max(deadline - now, 0.0) / max(pace, 1e-9)))


def _share_cores(workers: int, device: torch.device) -> None:
    """Give the main process the cores the loader workers leave, so they never oversubscribe the machine.

    Loader workers run one torch and one OpenCV thread each. Measured on 2 idle cores (preview preset):
    2 threads and no workers 1.07 s/it, 1 thread and 2 workers 1.66 s/it. On a busy machine OpenMP's
    spinning threads are what oversubscribes: the command line sets OMP_WAIT_POLICY=PASSIVE (see cli.main).
    """
    cores = os.cpu_count() or 1
    if device.type == "cpu":
        torch.set_num_threads(max(1, cores - workers))
    cv2.setNumThreads(1)  # before the workers fork: augmentation runs one OpenCV thread per worker
