"""IdentitySwap inference on the sample shot with an untrained tiny network (shapes, placement, chunks)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from dubkernels.cli.main import main
from dubkernels.errors import DubKernelsError
from dubkernels.io.frames import read_frame
from dubkernels.nets.config import config_from_dict
from dubkernels.nets.ynet import YNet
from dubkernels.stages.base import run_stage
from dubkernels.stages.identity_swap import IdentitySwap
from dubkernels.jobs.spec import Job
from dubkernels.tracks import load_track
from dubkernels.nets.checkpoint import CheckpointError, save_checkpoint
from tests.stage_data import make_shot

TINY = {"name": "tiny", "model": {"resolution": 32, "widths": [8, 16, 32]}}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("swap")
    shot = make_shot(folder, frames=4)
    config = config_from_dict(TINY)
    save_checkpoint(folder / "ck.safetensors", YNet(config.ynet).eval(), config, "shot", 1)
    return shot, folder / "ck.safetensors"


def _job(shot, ckpt, out, frames=None):
    return Job("identity_swap", {"face": shot.dubber, "face_track": shot.dubber_track, "checkpoint": str(ckpt)},
               {"out": str(out / "sw.####.exr")}, frames)


def test_swap_writes_face_layers_on_the_face(setup, tmp_path):
    shot, ckpt = setup
    summary = run_stage(IdentitySwap(_job(shot, ckpt, tmp_path)), workers=1)
    assert summary.done == shot.frames
    track = load_track(shot.dubber_track)
    for f in shot.frames:
        layer = read_frame(tmp_path / f"sw.{f}.exr")
        assert layer.channel_names == ("R", "G", "B", "A")
        w = layer.data_window
        x0, y0, x1, y1 = track.record(f).box
        assert w.x <= x0 + 5 and w.y <= y0 + 5 and w.x_end >= x1 - 5  # the layer covers the face...
        assert w.width < layer.display_window.width  # ...and only the face
        alpha = layer.pixels[..., 3].astype(np.float32)
        assert alpha.max() == pytest.approx(1.0, abs=1e-3)
        nose = track.record(f).landmarks[30]
        assert alpha[int(nose[1]) - w.y, int(nose[0]) - w.x] > 0.99


def test_chunks_match_and_swap_alias_runs(setup, tmp_path):
    shot, ckpt = setup
    run_stage(IdentitySwap(_job(shot, ckpt, tmp_path / "whole")), workers=2)
    assert main(["swap", "--face", shot.dubber, "--face-track", shot.dubber_track, "--checkpoint", str(ckpt),
                 "--out", str(tmp_path / "chunk" / "sw.####.exr"), "--frames", "1003-1004", "--workers", "1"]) == 0
    for f in (1003, 1004):
        a, b = read_frame(tmp_path / "whole" / f"sw.{f}.exr"), read_frame(tmp_path / "chunk" / f"sw.{f}.exr")
        assert np.array_equal(a.pixels.view(np.uint16), b.pixels.view(np.uint16))


def test_bad_checkpoint_fails_before_any_frame(setup, tmp_path):
    shot, _ = setup
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"nope")
    with pytest.raises(CheckpointError, match="damaged"):
        run_stage(IdentitySwap(_job(shot, bad, tmp_path)), workers=1)
    assert not list(tmp_path.glob("sw.*.exr"))


def test_batched_inference_matches_frame_by_frame(setup, tmp_path):
    shot, ckpt = setup
    for batch in (1, 3):
        job = _job(shot, ckpt, tmp_path / f"b{batch}")
        job.params = {"batch": batch}
        summary = run_stage(IdentitySwap(job), workers=1)
        assert summary.done == shot.frames
    for f in shot.frames:
        a, b = read_frame(tmp_path / "b1" / f"sw.{f}.exr"), read_frame(tmp_path / "b3" / f"sw.{f}.exr")
        assert a.data_window == b.data_window
        assert np.allclose(a.pixels.astype(np.float32), b.pixels.astype(np.float32), atol=2e-3)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_job_is_written_here_but_refused_when_run_without_a_gpu(setup, tmp_path, capsys):
    shot, ckpt = setup
    args = ["swap", "--face", shot.dubber, "--face-track", shot.dubber_track, "--checkpoint", str(ckpt),
            "--out", str(tmp_path / "sw.####.exr"), "--device", "cuda"]
    assert main(args + ["--write-job", str(tmp_path / "job.json")]) == 0
    assert main(["run", str(tmp_path / "job.json")]) != 0
    assert "no CUDA GPU" in capsys.readouterr().err
    assert not list(tmp_path.glob("sw.*.exr"))


def test_a_chunk_needs_only_its_own_input_frames(setup, tmp_path):
    shot, ckpt = setup
    partial = tmp_path / "partial"
    partial.mkdir()
    source = Path(shot.dubber.replace("####", str(shot.frames[0]))).parent
    for f in shot.frames[:2]:  # the rest of the input is not rendered yet (a farm chunk of pass 2, say)
        name = Path(shot.dubber).name.replace("####", str(f))
        shutil.copy(source / name, partial / name)
    pattern = str(partial / Path(shot.dubber).name)
    chunk = f"{shot.frames[0]}-{shot.frames[1]}"
    job = Job("identity_swap", {"face": pattern, "face_track": shot.dubber_track, "checkpoint": str(ckpt)},
              {"out": str(tmp_path / "out" / "sw.####.exr")}, chunk)
    assert run_stage(IdentitySwap(job), workers=1).done == shot.frames[:2]
    beyond = f"{shot.frames[1]}-{shot.frames[2]}"
    with pytest.raises(DubKernelsError, match=f"missing frames {shot.frames[2]} of {beyond}"):
        run_stage(IdentitySwap(Job("identity_swap", job.inputs, job.outputs, beyond)), workers=1)
