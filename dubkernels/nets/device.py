"""The torch device a command runs on, checked before any work starts."""
from __future__ import annotations

import torch

from dubkernels.errors import DubKernelsError


def parse_device(name: str) -> torch.device | None:
    """The device ``name`` stands for, None for ``auto``; a clear error for names torch or we do not take.

    Checks only the name, so a CPU workstation can write a job for a GPU farm node.
    """
    if name == "auto":
        return None
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise DubKernelsError(f"device {name!r} is not a torch device; use auto, cpu, cuda or cuda:N.") from exc
    if device.type not in ("cpu", "cuda"):
        raise DubKernelsError(f"device {name!r} is not supported; use auto, cpu, cuda or cuda:N.")
    return device


def pick_device(name: str) -> torch.device:
    """``auto`` (CUDA when present, else the CPU), ``cpu``, ``cuda`` or ``cuda:N`` on this machine; a clear error
    for a bad name or a GPU this machine does not have."""
    device = parse_device(name)
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise DubKernelsError(f"device {name!r}: PyTorch sees no CUDA GPU on this machine; use cpu or auto.")
        if device.index is not None and device.index >= count:
            raise DubKernelsError(f"device {name!r}: this machine has {count} CUDA GPU(s), cuda:0..cuda:{count - 1}.")
    return device
