#!/usr/bin/env python
"""Benchmark of the Y-network: training iterations/s and inference ms/frame per preset.

Runs the real training step (both decoders, losses, Adam; AMP and channels-last
on CUDA) on a PairDataset of random crops (augmentation and loader included), and the inference path
(encoder + style + actor decoder) on one crop at a time, on the device given
(auto: CUDA when present). Prints a table; the 4-hour goal of the paper preset
is projected from the measured rate.

    python scripts/bench_train.py --presets preview paper --iterations 5
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from dubkernels.nets.config import load_config
from dubkernels.nets.device import pick_device
from dubkernels.nets.ynet import ActorSwap
from dubkernels.train.datasets import PairDataset
from dubkernels.train.prepare import CropSet
from dubkernels.train.trainer import Trainer, TrainOptions

WARMUP = 2


def random_dataset(size: int, count: int = 64) -> PairDataset:
    """A PairDataset of random crops with a face mask everywhere and a mouth box (augmentation included)."""
    rng = np.random.default_rng(0)
    face = np.full((count, size, size), 255, np.uint8)
    mouth = np.zeros((count, size, size), np.uint8)
    mouth[:, size * 5 // 8 : size * 7 // 8, size // 3 : size * 2 // 3] = 255
    sets = [CropSet(rng.integers(0, 256, (count, size, size, 3), dtype=np.uint8), face, mouth, list(range(count)), role)
            for role in ("actor", "dubber")]
    return PairDataset(sets[:1], sets[1:], seed=0)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench(preset: str, iterations: int, device_name: str, workers: int) -> tuple[float, float, int]:
    config = load_config(preset)
    with tempfile.TemporaryDirectory() as tmp:
        options = TrainOptions(Path(tmp), device=device_name, workers=workers)
        trainer = Trainer(config, random_dataset(config.model.resolution), options)
        batches = trainer._batches()
        for _ in range(WARMUP):
            trainer.step(next(batches))
        synchronize(trainer.device)
        start = time.perf_counter()
        for _ in range(iterations):
            trainer.step(next(batches))
        synchronize(trainer.device)
        its = iterations / (time.perf_counter() - start)
        swap = ActorSwap(trainer.net).eval()
        x = torch.rand(1, 3, config.model.resolution, config.model.resolution, device=trainer.device)
        with torch.no_grad(), torch.autocast(trainer.device.type, enabled=trainer.amp):
            for _ in range(WARMUP):
                swap(x)
            synchronize(trainer.device)
            start = time.perf_counter()
            for _ in range(iterations):
                swap(x)
            synchronize(trainer.device)
        ms = 1000.0 * (time.perf_counter() - start) / iterations
    return its, ms, config.train.batch_size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["preview", "paper"])
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=0, help="data-loading processes (default 0)")
    args = parser.parse_args()
    device = pick_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}")
    print(f"{'preset':<9}{'batch':>6}{'train it/s':>12}{'infer ms/frame':>16}{'60k its (h)':>13}")
    for preset in args.presets:
        its, ms, batch = bench(preset, args.iterations, args.device, args.workers)
        print(f"{preset:<9}{batch:>6}{its:>12.2f}{ms:>16.1f}{60000 / its / 3600:>13.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
