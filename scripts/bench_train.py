#!/usr/bin/env python
"""Benchmark of the Y-network: training iterations/s and inference ms/frame per preset.

Runs the real training step (both decoders, losses, Adam; AMP and channels-last
on CUDA) on random crops with random masks, and the inference path
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

import torch

from dubkernels.nets.config import load_config
from dubkernels.nets.ynet import ActorSwap
from dubkernels.train.trainer import Trainer, TrainOptions, pick_device

WARMUP = 2


class RandomCrops:
    """Random crops and masks with the PairDataset item layout."""

    def __init__(self, size: int, count: int = 64):
        generator = torch.Generator().manual_seed(0)
        self.items = [self._item(size, generator) for _ in range(count)]

    @staticmethod
    def _item(size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        item = {}
        for side in ("actor", "dubber"):
            item[side] = torch.rand(3, size, size, generator=generator)
            item[f"{side}_face_mask"] = torch.ones(1, size, size)
            mouth = torch.zeros(1, size, size)
            mouth[:, size * 5 // 8 : size * 7 // 8, size // 3 : size * 2 // 3] = 1.0
            item[f"{side}_mouth_mask"] = mouth
        return item

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.items[index]

    def set_epoch(self, epoch: int) -> None:
        pass


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench(preset: str, iterations: int, device_name: str) -> tuple[float, float, int]:
    config = load_config(preset)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(config, RandomCrops(config.model.resolution), TrainOptions(Path(tmp), device=device_name))
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
    args = parser.parse_args()
    device = pick_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}")
    print(f"{'preset':<9}{'batch':>6}{'train it/s':>12}{'infer ms/frame':>16}{'60k its (h)':>13}")
    for preset in args.presets:
        its, ms, batch = bench(preset, args.iterations, args.device)
        print(f"{preset:<9}{batch:>6}{its:>12.2f}{ms:>16.1f}{60000 / its / 3600:>13.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
