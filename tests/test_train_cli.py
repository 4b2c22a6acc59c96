"""pretrain -> train -> export -> identity-swap through the command line (tiny config, CPU)."""
from __future__ import annotations

import json

import cv2
import numpy as np
import torch
from skimage import data

from dubkernels.cli.main import main
from dubkernels.io.frames import read_frame
from dubkernels.preview import write_png
from dubkernels.nets.checkpoint import load_checkpoint
from tests.stage_data import make_shot

TINY = {"name": "tiny", "model": {"resolution": 32, "widths": [8, 16, 32]},
        "train": {"batch_size": 2, "iterations": 3, "checkpoint_every": 2, "preview_every": 2}}


def test_pretrain_train_export_swap(tmp_path, capsys):
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY))
    faces = tmp_path / "faces"
    astronaut = data.astronaut()
    write_png(faces / "a.png", astronaut)
    write_png(faces / "b.png", cv2.warpAffine(astronaut, cv2.getRotationMatrix2D((256, 256), 8, 1.05), (512, 512)))
    write_png(faces / "blank.png", np.full((200, 200, 3), 128, np.uint8))  # no face: skipped
    common = ["--config", str(config), "--workers", "0"]
    assert main(["pretrain", str(tmp_path / "pre"), "--faces", str(faces)] + common) == 0
    assert "2 faces from" in capsys.readouterr().out
    pre = load_checkpoint(tmp_path / "pre" / "latest.safetensors")
    assert pre.kind == "pretrain" and pre.iteration == 3

    shot = make_shot(tmp_path / "shot", frames=3)
    train = ["train", str(tmp_path / "run"), "--actor", shot.actor, "--actor-track", shot.actor_track,
             "--dubber", shot.dubber, "--dubber-track", shot.dubber_track,
             "--init", str(tmp_path / "pre" / "latest.safetensors")] + common
    assert main(train) == 0
    assert main(train + ["--iterations", "5"]) == 0  # resumes from iteration 3
    log = (tmp_path / "run" / "loss.jsonl").read_text().splitlines()
    assert [json.loads(line)["iteration"] for line in log] == [1, 2, 3, 4, 5]
    assert (tmp_path / "run" / "previews" / "iter_000002.png").is_file()
    assert list((tmp_path / "run" / "crops").glob("*.npz"))  # crops cached for the next run

    ckpt = tmp_path / "run" / "latest.safetensors"
    assert main(["export", str(ckpt), "--torchscript", str(tmp_path / "swap.pt")]) == 0
    scripted = torch.jit.load(str(tmp_path / "swap.pt"))
    assert scripted(torch.rand(1, 3, 32, 32)).shape == (1, 3, 32, 32)

    assert main(["identity-swap", "--face", shot.dubber, "--face-track", shot.dubber_track, "--checkpoint", str(ckpt),
                 "--out", str(tmp_path / "sw" / "sw.####.exr"), "--workers", "1"]) == 0
    assert read_frame(tmp_path / "sw" / "sw.1001.exr").channel_names == ("R", "G", "B", "A")
