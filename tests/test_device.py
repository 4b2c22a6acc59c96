"""Device names: auto, cpu, cuda, cuda:N; anything else, or CUDA on a machine without it, is a clear error."""
from __future__ import annotations

import pytest
import torch

from dubkernels.cli.main import main
from dubkernels.errors import DubKernelsError
from dubkernels.nets.device import parse_device, pick_device
from dubkernels.jobs.params import IdentitySwapParams as Params


def test_auto_and_cpu():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("name, message", [("gpu", "not a torch device"), ("meta", "not supported")])
def test_unknown_devices_are_refused(name, message):
    with pytest.raises(DubKernelsError, match=message):
        pick_device(name)


def test_cuda_beyond_the_machine_is_refused():
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    with pytest.raises(DubKernelsError, match="no CUDA GPU" if count == 0 else "CUDA GPU\\(s\\)"):
        pick_device(f"cuda:{count}" if count else "cuda")


def test_train_refuses_a_bad_device_before_reading_plates(tmp_path, capsys):
    code = main(["train", str(tmp_path / "run"), "--device", "gpu", "--actor", "missing.####.exr",
                 "--actor-track", "missing.json", "--dubber", "missing.####.exr", "--dubber-track", "missing.json"])
    assert code != 0
    assert "not a torch device" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_identity_swap_params_check_only_the_device_name():
    with pytest.raises(DubKernelsError, match="identity_swap: device 'gpu'"):
        Params(device="gpu").check("identity_swap")
    for name in ("auto", "cuda", "cuda:3"):  # a workstation may write a job for a GPU node
        Params(device=name).check("identity_swap")
    assert parse_device("auto") is None and parse_device("cuda:1") == torch.device("cuda", 1)
