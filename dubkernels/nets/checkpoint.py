"""Checkpoints of every network: weights in safetensors with the architecture, the config and a
format version in the header; optimiser and RNG state beside them in a torch file loaded with
``weights_only=True``.

A checkpoint of another architecture (a FaceSR checkpoint where a Y-network is needed) or made with
another config is refused with a clear error. Inference and training both read them from here.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from dubkernels.errors import DubKernelsError
from dubkernels.io.files import atomic_write
from dubkernels.nets.config import Config, config_from_dict

FORMAT = "dubkernels-net"
FORMAT_VERSION = 2
LEGACY_FORMATS = {("dubkernels-ynet", "1"): "ynet"}  # format, version -> architecture: still read
ARCH_NAMES = {"ynet": "Y-network (IdentitySwap)", "face_sr": "FaceSR"}
PRETRAINED_PARTS = ("encoder.", "style.")  # what pre-training hands to per-shot training
STATE_SUFFIX = ".state.pt"  # optimiser and RNG state, beside the weights


class CheckpointError(DubKernelsError):
    """A checkpoint is missing, damaged, from another format or from another config."""


@dataclass
class Checkpoint:
    config: Config
    weights: dict[str, torch.Tensor]
    kind: str  # "pretrain" or "shot"
    iteration: int


def save_checkpoint(path: str | os.PathLike[str], model: torch.nn.Module, config: Config, kind: str,
                    iteration: int, state: dict[str, Any] | None = None) -> None:
    """Write ``path`` (safetensors) and, with ``state``, ``path``.state.pt (optimiser, RNG)."""
    path = Path(path)
    weights = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "version": str(FORMAT_VERSION), "arch": config.arch,
            "config": json.dumps(config.as_dict()), "kind": kind, "iteration": str(iteration)}
    atomic_write(path, lambda tmp: save_file(weights, tmp, metadata=meta))
    if state is not None:
        atomic_write(state_path(path), lambda tmp: torch.save(state, tmp))


def state_path(path: Path) -> Path:
    return path.with_name(path.name + STATE_SUFFIX)


def load_checkpoint(path: str | os.PathLike[str], expect: Config | None = None, arch: str = "ynet") -> Checkpoint:
    """Read a checkpoint of architecture ``arch``; with ``expect``, refuse one whose model config differs."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} not found; check the path or train one first.")
    if path.name.endswith(STATE_SUFFIX):
        raise CheckpointError(f"{path} is the training state; give the weights beside it, "
                              f"{path.name[: -len(STATE_SUFFIX)]}.")
    try:
        with open(path, "rb") as f:
            header_len = int.from_bytes(f.read(8), "little")
            if not 0 < header_len <= path.stat().st_size - 8:
                raise ValueError("its header length does not fit the file")
            header = json.loads(f.read(header_len))
        meta = header.get("__metadata__", {}) if isinstance(header, dict) else None
        if not isinstance(meta, dict):
            raise ValueError("its header is not a safetensors header")
        weights = load_file(str(path))
    except (SafetensorError, ValueError, OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors checkpoint ({exc}); "
                              "it is damaged or another kind of file.") from exc
    legacy = LEGACY_FORMATS.get((str(meta.get("format")), str(meta.get("version"))))
    if legacy is None and (meta.get("format") != FORMAT or meta.get("version") != str(FORMAT_VERSION)):
        raise CheckpointError(
            f"{path}: not a dubkernels network checkpoint of format version {FORMAT_VERSION} "
            f"(found {meta.get('format')!r} version {meta.get('version')!r})."
        )
    found = legacy or meta.get("arch", "")
    if found != arch:
        raise CheckpointError(f"{path}: a {ARCH_NAMES.get(found, repr(found))} checkpoint, not a "
                              f"{ARCH_NAMES.get(arch, arch)} one; give the checkpoint trained for this stage.")
    config = config_from_dict(json.loads(meta["config"]), str(path))
    if expect is not None and config.model != expect.model:
        raise CheckpointError(
            f"{path}: made with network config '{config.name}' {config.model}, not '{expect.name}' "
            f"{expect.model}; use --config {config.name} or another checkpoint."
        )
    return Checkpoint(config, weights, meta.get("kind", ""), int(meta.get("iteration", 0)))


def load_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Optimiser and RNG state saved beside a checkpoint (``weights_only=True``)."""
    sp = state_path(Path(path))
    if not sp.is_file():
        raise CheckpointError(f"{sp} not found: this checkpoint cannot resume training exactly.")
    try:
        return torch.load(sp, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError... for a damaged file
        raise CheckpointError(f"{sp}: the training state is damaged ({type(exc).__name__}); delete it and "
                              f"{sp.name[: -len(STATE_SUFFIX)]} beside it to start the run again, or train into a "
                              "new run folder.") from exc


def pretrained_weights(ckpt: Checkpoint) -> dict[str, torch.Tensor]:
    """Encoder and style-module weights only: per-shot decoders start fresh (paper)."""
    return {k: v for k, v in ckpt.weights.items() if k.startswith(PRETRAINED_PARTS)}
