"""Training loop: learning, exact resume, pre-training hand-over, stop signal (tiny config, CPU)."""
from __future__ import annotations

import json
import signal

import pytest
import torch

from dubkernels.nets.config import config_from_dict
from dubkernels.nets.checkpoint import load_checkpoint, save_checkpoint
from dubkernels.train.datasets import PairDataset
from dubkernels.train.prepare import FaceClip, extract_crops
from dubkernels.train.trainer import LATEST, Trainer, TrainOptions
from dubkernels.nets.ynet import YNet
from tests.stage_data import make_shot

SIZE = 32


def _config(**train):
    return config_from_dict({
        "name": "tiny", "model": {"resolution": SIZE, "widths": [8, 16, 32]},
        "train": {"batch_size": 2, "iterations": 4, "lr": 1e-3, "checkpoint_every": 1000, "preview_every": 1000,
                  **train},
    })


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    shot = make_shot(tmp_path_factory.mktemp("shot"), frames=4)
    actor = extract_crops(FaceClip(shot.actor, shot.actor_track, "actor"), SIZE)
    dubber = extract_crops(FaceClip(shot.dubber, shot.dubber_track, "dubber"), SIZE)
    return PairDataset([actor], [dubber], seed=3, augment=True)


def _weights(trainer):
    return {k: v.clone() for k, v in trainer.net.state_dict().items()}


def test_loss_falls_when_overfitting_real_crops(dataset, tmp_path):
    trainer = Trainer(_config(iterations=60, preview_every=30), dataset, TrainOptions(tmp_path))
    trainer.run()
    losses = [json.loads(line)["loss"] for line in (tmp_path / "loss.jsonl").read_text().splitlines()]
    assert len(losses) == 60
    assert sum(losses[-10:]) / 10 < 0.8 * sum(losses[:10]) / 10
    assert (tmp_path / "previews" / "iter_000030.png").is_file()
    assert load_checkpoint(tmp_path / LATEST).iteration == 60


def test_resume_is_exact(dataset, tmp_path):
    straight = Trainer(_config(iterations=6), dataset, TrainOptions(tmp_path / "a", seed=5))
    straight.run()
    first = Trainer(_config(iterations=3), dataset, TrainOptions(tmp_path / "b", seed=5))
    first.run()
    resumed = Trainer(_config(iterations=6), dataset, TrainOptions(tmp_path / "b", seed=5))
    assert resumed.iteration == 3
    resumed.run()
    a, b = _weights(straight), _weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_resume_logs_each_iteration_once(dataset, tmp_path):
    Trainer(_config(iterations=3), dataset, TrainOptions(tmp_path, seed=5)).run()
    log = tmp_path / "loss.jsonl"
    with log.open("a") as f:  # a run killed after its checkpoint at 3 had logged 4 and 5, and half a line
        f.write('{"iteration": 4, "loss": 1.0}\n{"iteration": 5, "loss": 1.0}\n{"iteration": 6, "lo')
    resumed = Trainer(_config(iterations=6), dataset, TrainOptions(tmp_path, seed=5))
    assert resumed.iteration == 3
    resumed.run()
    assert [json.loads(line)["iteration"] for line in log.read_text().splitlines()] == [1, 2, 3, 4, 5, 6]


def test_pretrained_encoder_and_style_only(dataset, tmp_path):
    config = _config()
    pre = YNet(config.ynet)
    save_checkpoint(tmp_path / "pre.safetensors", pre, config, "pretrain", 100)
    shot = Trainer(config, dataset, TrainOptions(tmp_path / "shot", init=tmp_path / "pre.safetensors"))
    got, ref = shot.net.state_dict(), pre.state_dict()
    assert all(torch.equal(got[k], ref[k]) for k in ref if k.startswith(("encoder.", "style.")))
    assert not torch.equal(got["actor.to_rgb.weight"], ref["actor.to_rgb.weight"])  # decoders start fresh


def test_stop_signal_checkpoints_and_stops(dataset, tmp_path):
    trainer = Trainer(_config(iterations=50), dataset, TrainOptions(tmp_path))
    trainer._on_signal(signal.SIGTERM, None)
    path = trainer.run()
    assert trainer.iteration == 0 and load_checkpoint(path).iteration == 0


def test_a_time_budget_ends_the_progress_bar_where_the_budget_does(dataset, tmp_path):
    """A run of 100000 iterations under a 0.02-minute budget: the bar's end moves to what the budget reaches."""
    from dubkernels.jobs.progress import Progress

    class Totals(Progress):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[int] = []

        def set_total(self, total: int) -> None:
            super().set_total(total)
            self.seen.append(total)

    progress = Totals()
    trainer = Trainer(_config(iterations=100000), dataset, TrainOptions(tmp_path, minutes=0.02), progress=progress)
    trainer.run()
    assert trainer.stopped_by == "budget" and progress.seen
    assert all(total < 100000 for total in progress.seen)
    assert abs(progress.seen[-1] - trainer.iteration) <= max(3, trainer.iteration // 2)  # about where it stopped
