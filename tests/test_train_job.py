"""The train job: exit codes, damaged state, loss log flushing, thread counts, superseded runs, time budget."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
import torch

from dubkernels.cli.main import main
from dubkernels.jobs.progress import Progress
from dubkernels.jobs.spec import Job, JobError
from dubkernels.nets.config import ConfigError
from dubkernels.pipeline.runner import run_job
from dubkernels.tasks.train import loader_workers, read_stamp
from dubkernels.train import trainer as trainer_module
from dubkernels.nets.checkpoint import CheckpointError, load_checkpoint, load_state, state_path
from tests.conftest import REPO
from tests.stage_data import make_shot

TINY = {"name": "tiny", "model": {"resolution": 32, "widths": [8, 16, 32]},
        "train": {"batch_size": 2, "iterations": 3, "checkpoint_every": 1, "preview_every": 1000}}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    shot = make_shot(root, frames=3)
    config = root / "tiny.json"
    config.write_text(json.dumps(TINY))
    return shot, config


def _job(shot, config, out, **params) -> Job:
    return Job("train", {"actor": shot.actor, "actor_track": shot.actor_track, "dubber": shot.dubber,
                         "dubber_track": shot.dubber_track}, {"out": str(out)},
               params={"config": str(config), "workers": 0, **params})


def test_rerun_skips_a_finished_run_and_a_changed_input_supersedes_it(setup, tmp_path):
    shot, config = setup
    out = tmp_path / "run"
    first = run_job(_job(shot, config, out))
    assert read_stamp(out)["iteration"] == 3 and not first.notes
    again = run_job(_job(shot, config, out))
    assert any("already trained to iteration 3" in n for n in again.notes)
    more = run_job(_job(shot, config, out, iterations=5))  # more iterations: the same run goes on
    assert read_stamp(out)["iteration"] == 5 and not more.notes
    lines = (out / "loss.jsonl").read_text().splitlines()
    assert [json.loads(line)["iteration"] for line in lines] == [1, 2, 3, 4, 5]
    old = read_stamp(out)["job"]
    changed = run_job(_job(shot, config, out, seed=7))
    assert any("earlier run moved to" in n for n in changed.notes)
    assert (out / "superseded" / old / "latest.safetensors").is_file()
    assert len((out / "superseded" / old / "loss.jsonl").read_text().splitlines()) == 5  # nothing lost
    assert len((out / "loss.jsonl").read_text().splitlines()) == 3


def test_a_bad_init_moves_nothing_aside_and_a_setting_undone_brings_the_run_back(setup, tmp_path):
    shot, config = setup
    out = tmp_path / "run"
    run_job(_job(shot, config, out))
    trained = read_stamp(out)["job"]
    bad = tmp_path / "init.safetensors"
    bad.write_bytes(b"not a checkpoint")
    job = _job(shot, config, out)
    job.inputs["init"] = str(bad)
    with pytest.raises(JobError, match=r"train init: .*init.safetensors: not a readable safetensors checkpoint"):
        run_job(job)
    assert read_stamp(out)["job"] == trained and not (out / "superseded").exists()  # the trained run untouched
    job.inputs["init"] = str(tmp_path / "gone.safetensors")
    with pytest.raises(JobError, match="gone.safetensors not found"):
        run_job(job)
    seeded = run_job(_job(shot, config, out, seed=7))  # another setting tried: the run moves aside ...
    assert any("earlier run moved to" in n for n in seeded.notes)
    back = run_job(_job(shot, config, out))  # ... and undone: it comes back, trained
    assert any("came back from" in n for n in back.notes)
    assert read_stamp(out)["job"] == trained and read_stamp(out)["iteration"] == 3
    assert not (out / "superseded" / trained).exists()


def test_a_run_that_never_finished_is_no_foreign_folder(setup, tmp_path):
    shot, config = setup
    out = tmp_path / "run"
    (out / "crops").mkdir(parents=True)  # what a run stopped before its first checkpoint leaves
    (out / "superseded").mkdir()
    assert read_stamp(out) is None
    run_job(_job(shot, config, out))
    assert read_stamp(out)["iteration"] == 3
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("someone's files")
    with pytest.raises(JobError, match=r"holds files that are not a dubkernels run \(notes.txt\)"):
        run_job(_job(shot, config, other))


def test_the_loss_log_is_written_as_training_goes(setup, tmp_path):
    shot, config = setup
    seen = []

    class Watch(Progress):
        def advance(self, n: int = 1, frame: int | None = None) -> None:
            super().advance(n, frame)
            log = tmp_path / "run" / "loss.jsonl"
            seen.append(len(log.read_text().splitlines()) if log.exists() else 0)

    run_job(_job(shot, config, tmp_path / "run"), progress=Watch())
    assert seen[-3:] == [1, 2, 3]  # each iteration's line is on disk when the next starts


def test_a_time_budget_checkpoints_and_a_rerun_goes_on(setup, tmp_path, monkeypatch):
    shot, config = setup
    clock = iter(range(0, 10_000, 40))  # every look at the clock moves it 40 s on
    monkeypatch.setattr(trainer_module, "time", SimpleNamespace(monotonic=lambda: float(next(clock))))
    summary = run_job(_job(shot, config, tmp_path / "run", minutes=1.0))
    stamp = read_stamp(tmp_path / "run")
    assert 0 < stamp["iteration"] < 3 and any("time budget of 1 min" in n for n in summary.notes)


def test_a_preset_on_the_cpu_gets_a_budget_by_the_shots_length_and_completes(setup, tmp_path, monkeypatch):
    shot = make_shot(tmp_path / "shot", frames=6)  # the preset's batch of 4 needs more than 3
    clock = iter(range(0, 100_000, 40))  # every look at the clock moves it 40 s on
    monkeypatch.setattr(trainer_module, "time", SimpleNamespace(monotonic=lambda: float(next(clock))))
    summary = run_job(_job(shot, "preview", tmp_path / "run", device="cpu", cpu_seconds_per_frame=10.0))
    assert any("the preview preset on the CPU with neither iterations nor minutes given: a budget of 1.0 min "
               "(10 s per frame of the shot)" in n for n in summary.notes)  # 6 frames
    assert any(n.startswith("the CPU budget of 1 min reached") for n in summary.notes)
    assert not any("time budget" in n for n in summary.notes)  # the plan met: dub counts the step complete
    assert 0 < read_stamp(tmp_path / "run")["iteration"] < 8000


def test_a_damaged_training_state_is_a_clear_error(setup, tmp_path):
    shot, config = setup
    run_job(_job(shot, config, tmp_path / "run"))
    latest = tmp_path / "run" / "latest.safetensors"
    state_path(latest).write_bytes(b"PK\x03\x04 not a torch file")
    with pytest.raises(CheckpointError, match=r"latest\.safetensors\.state\.pt: the training state is damaged"):
        load_state(latest)
    with pytest.raises(CheckpointError, match="delete it and latest.safetensors beside it"):
        run_job(_job(shot, config, tmp_path / "run", iterations=4))


def test_sigterm_checkpoints_and_exits_non_zero(setup, tmp_path):
    shot, config = setup
    long = tmp_path / "long.json"
    long.write_text(json.dumps({**TINY, "train": {**TINY["train"], "iterations": 100000}}))
    out = tmp_path / "run"
    command = [sys.executable, "-m", "dubkernels.cli.main", "train", str(out), "--actor", shot.actor,
               "--actor-track", shot.actor_track, "--dubber", shot.dubber, "--dubber-track", shot.dubber_track,
               "--config", str(long), "--workers", "0", "--progress", "none"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "loss.jsonl").is_file() or not (out / "loss.jsonl").read_text().count("\n") >= 2:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "stopped by a signal at iteration" in err and "run the same command again to resume" in err.lower()
    assert read_stamp(out)["iteration"] >= 2 and (out / "latest.safetensors").is_file()


def test_threads_never_oversubscribe_the_cores(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    before = torch.get_num_threads()
    try:
        trainer_module._share_cores(3, torch.device("cpu"))
        assert torch.get_num_threads() == 5
        trainer_module._share_cores(8, torch.device("cpu"))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert loader_workers(-1) == 2 and loader_workers(0) == 0 and loader_workers(3) == 3
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert loader_workers(-1) == 0  # a small machine loads in the main process: all cores train


def test_train_refuses_negative_workers(setup, tmp_path, capsys):
    shot, config = setup
    assert main(["train", str(tmp_path / "run"), "--actor", shot.actor, "--actor-track", shot.actor_track,
                 "--dubber", shot.dubber, "--dubber-track", shot.dubber_track, "--workers", "-3"]) == 2
    assert "workers=-3 is out of range" in capsys.readouterr().err


def test_the_command_line_makes_openmp_threads_wait_passively(monkeypatch, capsys):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # a user's own choice stays
    with pytest.raises(SystemExit):
        main(["--version"])
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


TINY_SR = {"name": "tiny_sr", "arch": "face_sr", "model": {"resolution": 32, "scale": 2, "channels": 8, "blocks": 1},
           "train": {"batch_size": 2, "iterations": 3, "checkpoint_every": 1, "preview_every": 1000}}


def test_face_sr_fine_tunes_on_the_actor_with_self_swapped_inputs(setup, tmp_path):
    shot, config = setup
    run_job(_job(shot, config, tmp_path / "ynet"))  # the shot's IdentitySwap (tiny, 32 px)
    sr_config = tmp_path / "tiny_sr.json"
    sr_config.write_text(json.dumps(TINY_SR))
    job = Job("train_sr", {"actor": shot.actor, "actor_track": shot.actor_track,
                           "swap_checkpoint": str(tmp_path / "ynet" / "latest.safetensors")},
              {"out": str(tmp_path / "sr")}, params={"config": str(sr_config), "workers": 0})
    summary = run_job(job)
    assert read_stamp(tmp_path / "sr")["iteration"] == 3 and summary.stage == "train_sr"
    assert load_checkpoint(tmp_path / "sr" / "latest.safetensors", arch="face_sr").config.sr.output == 64
    assert any("already trained" in n for n in run_job(job).notes)
    job.params["config"] = str(config)  # a Y-network preset given to FaceSR
    with pytest.raises(ConfigError, match="not a FaceSR one"):
        run_job(job)
    mismatched = {**TINY_SR, "name": "sr64", "model": {**TINY_SR["model"], "resolution": 64}}
    sr_config.write_text(json.dumps(mismatched))
    job.params["config"] = str(sr_config)
    with pytest.raises(JobError, match="swap checkpoint works at 32 px but FaceSR 'sr64' takes 64 px"):
        run_job(job)
