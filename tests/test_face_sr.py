"""FaceSR network: shapes, an untrained network is bicubic, a short fine-tune on one face beats bicubic, and the
TorchScript export equals eager (tiny configs, CPU)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import data

from dubkernels.nets.config import ConfigError, SRModelConfig, load_config
from dubkernels.nets.face_sr import FaceSR


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
