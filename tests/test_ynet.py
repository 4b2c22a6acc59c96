"""The Y-network, its losses, checkpoints and TorchScript export (tiny config, CPU)."""
from __future__ import annotations

import json

import pytest
import torch

from dubkernels.nets.config import ConfigError, config_from_dict, load_config
from dubkernels.nets.export import NukeActorSwap, export_torchscript
from dubkernels.nets.ynet import ActorSwap, YNet, adain
from dubkernels.nets.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_state,
    pretrained_weights,
    save_checkpoint,
)
from dubkernels.train.losses import decoder_loss

TINY = {"name": "tiny", "model": {"resolution": 32, "widths": [8, 16, 32], "mapping_blocks": 3, "adain_blocks": 3},
        "train": {"batch_size": 2, "iterations": 20}}


@pytest.fixture
def tiny():
    return config_from_dict(TINY)


def test_presets_match_the_paper():
    paper = load_config("paper").model
    assert paper.resolution == 256 and paper.widths[0] == 32 and paper.widths[-1] == 1024 and paper.embedding == 8
    assert load_config("preview").model.embedding == 8
    train = load_config("paper").train
    assert (train.lr, train.recon_weight, train.mouth_weight, train.ssim_window, train.iterations) == (1e-4, 4, 2, 11, 60000)


def test_shapes_at_every_level(tiny):
    torch.manual_seed(0)
    net = YNet(tiny.model)
    x = torch.rand(2, 3, 32, 32)
    stem = net.encoder.stem(x)
    assert stem.shape == (2, 8, 32, 32)
    level1 = net.encoder.levels[0](stem)
    assert level1.shape == (2, 16, 16, 16)
    expression, identity = net.encoder(x)
    assert expression.shape == identity.shape == (2, 32, 8, 8)
    assert net.style(expression, identity).shape == (2, 32, 8, 8)
    actor, dubber = net(x)
    assert actor.shape == dubber.shape == (2, 3, 32, 32)
    assert 0.0 <= float(actor.min().detach()) and float(actor.max().detach()) <= 1.0
    assert not torch.allclose(actor, dubber)  # two decoders
    with pytest.raises(ValueError, match=r"expected \(B, 3, 32, 32\)"):
        net(torch.rand(2, 3, 64, 64))


def test_adain_follows_the_formula():
    torch.manual_seed(1)
    x, s = torch.randn(3, 5, 8, 8) * 2 + 1, torch.randn(3, 5, 8, 8) * 0.5 - 2
    out = adain(x, s, eps=0.0)
    for b in range(3):
        for c in range(5):
            xi, si = x[b, c], s[b, c]
            expected = si.std(unbiased=False) * (xi - xi.mean()) / xi.std(unbiased=False) + si.mean()
            assert torch.allclose(out[b, c], expected, atol=1e-5)
    assert torch.allclose(out.mean(dim=(2, 3)), s.mean(dim=(2, 3)), atol=1e-5)


def test_loss_is_zero_on_target_and_weights_the_mouth(tiny):
    target = torch.rand(2, 3, 32, 32)
    face = torch.ones(2, 1, 32, 32)
    mouth = torch.zeros(2, 1, 32, 32)
    mouth[..., 20:26, 10:22] = 1
    zero, _ = decoder_loss(target, target, face, mouth, tiny.train)
    assert float(zero) < 1e-6
    off = target.clone()
    off[..., 20:26, 10:22] += 0.2
    loss, parts = decoder_loss(off, target, face, mouth, tiny.train)
    assert float(loss) == pytest.approx(4 * parts["ssim"] + 2 * parts["mouth_l2"], rel=1e-5)
    # the paper's L2 norm of the masked difference: 0.2 over 6 x 12 pixels x 3 channels, per image
    assert parts["mouth_l2"] == pytest.approx(0.2 * (6 * 12 * 3) ** 0.5, rel=1e-4)


def test_mouth_term_has_finite_gradients_when_exact(tiny):
    target = torch.rand(2, 3, 32, 32)
    output = target.clone().requires_grad_(True)
    loss, _ = decoder_loss(output, target, torch.ones(2, 1, 32, 32), torch.ones(2, 1, 32, 32), tiny.train)
    loss.backward()
    assert output.grad is not None and torch.isfinite(output.grad).all()


def test_checkpoint_round_trip_state_and_pretrained_parts(tiny, tmp_path):
    net = YNet(tiny.model)
    state = {"optimizer": torch.optim.Adam(net.parameters()).state_dict(), "rng": torch.get_rng_state()}
    path = tmp_path / "ck.safetensors"
    save_checkpoint(path, net, tiny, "pretrain", 7, state)
    ckpt = load_checkpoint(path, tiny)
    assert ckpt.kind == "pretrain" and ckpt.iteration == 7 and ckpt.config == tiny
    fresh = YNet(tiny.model)
    fresh.load_state_dict(ckpt.weights)
    x = torch.rand(1, 3, 32, 32)
    net.eval(), fresh.eval()
    assert torch.equal(net(x)[0], fresh(x)[0])
    assert torch.equal(load_state(path)["rng"], state["rng"])
    parts = pretrained_weights(ckpt)
    assert parts and all(k.startswith(("encoder.", "style.")) for k in parts)
    assert not any(k.startswith(("actor.", "dubber.")) for k in parts)


def test_wrong_config_damaged_or_foreign_checkpoints_are_refused(tiny, tmp_path):
    path = tmp_path / "ck.safetensors"
    save_checkpoint(path, YNet(tiny.model), tiny, "shot", 1)
    other = config_from_dict({**TINY, "name": "other", "model": {**TINY["model"], "widths": [8, 16, 64]}})
    with pytest.raises(CheckpointError, match="made with network config 'tiny'"):
        load_checkpoint(path, other)
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(damaged)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "none.safetensors")
    torch.save({"step": 1}, tmp_path / "model.pt")  # a torch zip: its first 8 bytes read as a huge header length
    with pytest.raises(CheckpointError, match="another kind of file"):
        load_checkpoint(tmp_path / "model.pt")
    torch.save({"step": 1}, tmp_path / "run.safetensors.state.pt")
    with pytest.raises(CheckpointError, match="give the weights beside it, run.safetensors"):
        load_checkpoint(tmp_path / "run.safetensors.state.pt")
    with pytest.raises(CheckpointError, match="cannot resume training exactly"):
        load_state(path)
    with pytest.raises(ConfigError, match="must halve cleanly"):
        config_from_dict({**TINY, "model": {**TINY["model"], "resolution": 30}})
    (tmp_path / "bad.json").write_text(json.dumps({"name": "x"}))
    with pytest.raises(ConfigError, match="malformed"):
        load_config(str(tmp_path / "bad.json"))


def test_checkpoints_name_their_architecture_and_old_ynet_files_still_load(tiny, tmp_path):
    from safetensors.torch import load_file, save_file

    path = tmp_path / "ck.safetensors"
    save_checkpoint(path, YNet(tiny.model), tiny, "shot", 3)
    weights = load_file(str(path))
    meta = {"format": "dubkernels-ynet", "version": "1", "config": json.dumps(tiny.as_dict()), "kind": "shot",
            "iteration": "3"}
    save_file(weights, str(tmp_path / "old.safetensors"), metadata=meta)  # written before checkpoints moved to nets/
    assert load_checkpoint(tmp_path / "old.safetensors").iteration == 3
    save_file(weights, str(tmp_path / "sr.safetensors"), metadata={**meta, "format": "dubkernels-net", "version": "2",
                                                                   "arch": "face_sr"})
    with pytest.raises(CheckpointError, match="a FaceSR checkpoint, not a Y-network"):
        load_checkpoint(tmp_path / "sr.safetensors")
    with pytest.raises(CheckpointError, match=r"a Y-network \(IdentitySwap\) checkpoint, not a FaceSR one"):
        load_checkpoint(path, arch="face_sr")
    with pytest.raises(ConfigError, match="unknown architecture 'gan'"):
        config_from_dict({**TINY, "arch": "gan"})


def test_inference_never_imports_training_code():
    import subprocess
    import sys

    code = ("import sys, dubkernels.stages.identity_swap, dubkernels.nets.export; "
            "print(sorted(m for m in sys.modules if m.startswith('dubkernels.train')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_torchscript_export_equals_eager(tiny, tmp_path):
    torch.manual_seed(2)
    net = YNet(tiny.model).eval()
    path = tmp_path / "ck.safetensors"
    save_checkpoint(path, net, tiny, "shot", 3)
    export_torchscript(path, tmp_path / "swap.pt")
    scripted = torch.jit.load(str(tmp_path / "swap.pt"))
    eager = NukeActorSwap(ActorSwap(net), 32).eval()
    x = torch.rand(1, 4, 48, 40)  # RGBA at another size: resized inside
    with torch.no_grad():
        out = scripted(x)
        assert out.shape == (1, 3, 48, 40)
        assert torch.allclose(out, eager(x), atol=1e-6)
        assert scripted(x.double()).dtype == torch.float64  # follows the input's dtype
