"""FaceSR: the network (shapes, bicubic when untrained, a short fine-tune on one face beats bicubic, TorchScript
equals eager), its presets, its fine-tune pairs (degraded and self-swapped) and its training (tiny configs, CPU)."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import data

from dubkernels.errors import DubKernelsError
from dubkernels.io.frames import read_frame
from dubkernels.jobs.spec import Job
from dubkernels.nets.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from dubkernels.nets.config import ConfigError, SRModelConfig, config_from_dict, load_config
from dubkernels.nets.face_sr import FaceSR
from dubkernels.nets.ynet import YNet
from dubkernels.pipeline.runner import run_job
from dubkernels.train.prepare import CropSet
from dubkernels.train.sr_data import SRDataset, downsample, self_swapped
from dubkernels.train.trainer import Trainer, TrainOptions
from tests.stage_data import make_layered


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1.0 / F.mse_loss(a, b)))


def test_shapes_and_bad_input():
    x = torch.rand(2, 3, 24, 32)
    assert FaceSR(SRModelConfig(24, 2, 8, 1))(x).shape == (2, 3, 48, 64)
    assert FaceSR(SRModelConfig(24, 4, 8, 1))(x).shape == (2, 3, 96, 128)
    with pytest.raises(ConfigError, match="choose 2 or 4"):
        FaceSR(SRModelConfig(24, 3, 8, 1))
    with pytest.raises(ValueError, match=r"takes \(N, 3, H, W\) images, got \[3, 24, 32\]"):
        FaceSR(SRModelConfig(24, 2, 8, 1))(torch.rand(3, 24, 32))


def test_presets_are_the_papers_fine_tune_and_a_cpu_size():
    paper, preview = load_config("face_sr_paper"), load_config("face_sr_preview")
    assert paper.arch == preview.arch == "face_sr"
    assert (paper.sr.resolution, paper.sr.output, paper.train.iterations, paper.train.lr) == (256, 512, 1000, 2e-4)
    assert (preview.sr.resolution, preview.sr.output) == (load_config("preview").ynet.resolution, 256)
    with pytest.raises(ConfigError, match="not a Y-network one"):
        paper.ynet


def test_an_untrained_network_is_the_bicubic_enlargement():
    x = torch.rand(1, 3, 20, 20)
    bicubic = F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False).clamp(0, 1)
    torch.testing.assert_close(FaceSR(SRModelConfig(16, 2, 8, 2))(x), bicubic)


def test_a_short_fine_tune_on_one_face_beats_bicubic():
    torch.manual_seed(0)
    face = torch.from_numpy(data.astronaut()[40:200, 160:320].astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    low = F.avg_pool2d(face, 2)  # the face at half size, box-filtered
    net = FaceSR(SRModelConfig(80, 2, 16, 2))
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3)
    for _ in range(200):
        loss = F.l1_loss(net(low), face)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        sr = net(low)
    bicubic = F.interpolate(low, scale_factor=2, mode="bicubic", align_corners=False).clamp(0, 1)
    assert _psnr(sr, face) > _psnr(bicubic, face) + 0.5


def test_torchscript_export_equals_eager(tmp_path):
    net = FaceSR(SRModelConfig(16, 2, 8, 2)).eval()
    for p in net.parameters():
        p.data.normal_(0.0, 0.05)
    x = torch.rand(1, 3, 16, 16)
    scripted = torch.jit.script(net)
    scripted.save(str(tmp_path / "sr.pt"))
    loaded = torch.jit.load(str(tmp_path / "sr.pt"))
    torch.testing.assert_close(loaded(x), net(x))


def _crops(count: int = 6, size: int = 64) -> CropSet:
    """Real face crops (the astronaut, shifted a little per frame) with full masks."""
    photo = data.astronaut()
    images = np.stack([cv2.resize(photo[30 + 2 * i : 230 + 2 * i, 150:350], (size, size), interpolation=cv2.INTER_AREA)
                       for i in range(count)])
    masks = np.full((count, size, size), 255, np.uint8)
    return CropSet(images, masks, masks.copy(), list(range(1001, 1001 + count)), "actor")


def test_degraded_pairs_are_the_target_blurred_and_downsampled():
    crops = _crops()
    dataset = SRDataset(crops, 2, seed=3, augment=False)
    sample = dataset[2]
    assert sample["input"].shape == (3, 32, 32) and sample["target"].shape == (3, 64, 64)
    assert sample["face_mask"].shape == sample["mouth_mask"].shape == (1, 64, 64)
    plain = torch.from_numpy(downsample(crops.images[2:3], 32)[0].astype(np.float32) / 255.0).permute(2, 0, 1)
    assert float((sample["input"] - plain).abs().mean()) < 0.04  # the same face, softer
    torch.testing.assert_close(dataset[2]["input"], sample["input"])  # (seed, epoch, index) decide a sample
    dataset.set_epoch(1)
    assert not torch.equal(dataset[2]["input"], sample["input"])


def test_self_swapped_inputs_are_used_for_about_half_the_samples():
    crops = _crops(12)
    low = downsample(crops.images, 32)
    swapped = self_swapped(low, lambda x: 1.0 - x)  # a stand-in network: the negative
    np.testing.assert_allclose(swapped.astype(int), 255 - low.astype(int), atol=1)
    dataset = SRDataset(crops, 2, swapped, augment=False)
    used = sum(torch.allclose(dataset[i]["input"], torch.from_numpy(swapped[i] / 255.0).permute(2, 0, 1).float())
               for i in range(len(dataset)))
    assert 0 < used < len(dataset)
    with pytest.raises(DubKernelsError, match="do not match the 12 targets"):
        SRDataset(crops, 2, swapped[:5])


def test_training_face_sr_lowers_its_loss(tmp_path):
    config = config_from_dict({"name": "tiny_sr", "arch": "face_sr",
                               "model": {"resolution": 32, "scale": 2, "channels": 8, "blocks": 1},
                               "train": {"iterations": 40, "batch_size": 2, "lr": 0.002, "checkpoint_every": 40,
                                         "preview_every": 40}})
    trainer = Trainer(config, SRDataset(_crops(), 2, seed=1), TrainOptions(tmp_path / "run", seed=1))
    latest = trainer.run()
    losses = [json.loads(line)["loss"] for line in (tmp_path / "run" / "loss.jsonl").read_text().splitlines()]
    assert len(losses) == 40 and np.mean(losses[-8:]) < np.mean(losses[:8])
    assert (tmp_path / "run" / "previews" / "iter_000040.png").is_file()
    assert load_checkpoint(latest, config, arch="face_sr").iteration == 40
    with pytest.raises(CheckpointError, match="a FaceSR checkpoint, not a Y-network"):
        load_checkpoint(latest)  # one network's checkpoint refused by the other


@pytest.fixture(scope="module")
def layered(tmp_path_factory):
    return make_layered(tmp_path_factory.mktemp("sr"))


def _untrained_checkpoint(path):
    config = config_from_dict({"name": "sr128", "arch": "face_sr",
                               "model": {"resolution": 128, "scale": 2, "channels": 8, "blocks": 1}})
    save_checkpoint(path, FaceSR(config.sr), config, "shot", 0)
    return str(path)


def _sr_job(layered, checkpoint, out, frames=None):
    return Job("face_sr", {"face": layered.face, "face_track": layered.face_track, "checkpoint": checkpoint},
               {"out": str(out)}, frames, params={"batch": 4})


def test_the_stage_keeps_alpha_and_the_face_and_chunks_agree(layered, tmp_path):
    checkpoint = _untrained_checkpoint(tmp_path / "sr.safetensors")
    whole = run_job(_sr_job(layered, checkpoint, tmp_path / "a" / "sr.####.exr"), workers=1)
    frames = whole.done
    assert len(frames) == 4
    run_job(_sr_job(layered, checkpoint, tmp_path / "b" / "sr.####.exr", "1001-1002"), workers=1)
    run_job(_sr_job(layered, checkpoint, tmp_path / "b" / "sr.####.exr", "1003-1004"), workers=1)
    for f in frames:
        out = read_frame(tmp_path / "a" / f"sr.{f}.exr")
        source = read_frame(layered.face.replace("####", str(f)))
        np.testing.assert_array_equal(out.pixels[..., 3], source.pixels[..., 3])  # the layer's alpha, bit for bit
        assert out.data_window == source.data_window
        solid = source.pixels[..., 3].astype(np.float32) > 0.99
        diff = np.abs(out.pixels[..., :3].astype(np.float32) - source.pixels[..., :3].astype(np.float32))[solid]
        assert diff.mean() < 0.03  # an untrained FaceSR is bicubic: the same face, a little softer (0.018)
        np.testing.assert_array_equal(out.pixels, read_frame(tmp_path / "b" / f"sr.{f}.exr").pixels)


def test_the_stage_refuses_a_y_network_checkpoint(layered, tmp_path):
    config = config_from_dict({"name": "tiny", "model": {"resolution": 32, "widths": [8, 16, 32]}})
    save_checkpoint(tmp_path / "ynet.safetensors", YNet(config.ynet), config, "shot", 1)
    with pytest.raises(CheckpointError, match="a Y-network \\(IdentitySwap\\) checkpoint, not a FaceSR one"):
        run_job(_sr_job(layered, str(tmp_path / "ynet.safetensors"), tmp_path / "c" / "sr.####.exr"), workers=1)


def test_patches_are_cut_alike_from_input_and_target_and_often_on_the_mouth():
    crops = _crops(8)
    crops.mouth_masks[:] = 0
    crops.mouth_masks[:, 40:52, 24:40] = 255  # the mouth, low in the crop
    dataset = SRDataset(crops, 2, seed=5, patch=8)
    samples = [dataset[i] for i in range(len(dataset))]
    assert all(s["input"].shape == (3, 8, 8) and s["target"].shape == (3, 16, 16) for s in samples)
    on_mouth = sum(float(s["mouth_mask"].sum()) > 0 for s in samples)
    assert on_mouth >= 3  # half aim at the mouth; a patch anywhere rarely meets it
    plain = SRDataset(crops, 2, seed=5, augment=False, patch=8)[0]
    assert float((F.avg_pool2d(plain["target"][None], 2)[0] - plain["input"]).abs().mean()) < 0.06  # the same place
    with pytest.raises(DubKernelsError, match="patches of 40 px do not fit its 32 px input crops"):
        SRDataset(crops, 2, patch=40)
