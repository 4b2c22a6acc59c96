"""What each network brings to the shared training loop (:mod:`dubkernels.train.trainer`): how to build
it, run it on a batch, score the result, start it from another checkpoint and show it learning.

- ``ynet``: the Y-network (both decoders on a shared encoder; DSSIM + MSE with the mouth weighted);
- ``face_sr``: FaceSR (the same loss on the enlarged crop against the plate's own crop).
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from dubkernels.nets.checkpoint import Checkpoint, CheckpointError, pretrained_weights
from dubkernels.nets.config import Config
from dubkernels.nets.face_sr import FaceSR
from dubkernels.nets.ynet import YNet
from dubkernels.train.losses import decoder_loss

Batch = dict[str, torch.Tensor]
PREVIEW_ROWS = 4


class Recipe(Protocol):
    def build(self, config: Config) -> nn.Module:
        """A fresh network for ``config``."""

    def forward(self, net: nn.Module, batch: Batch) -> Batch:
        """The network's outputs on a batch (run under autocast on a GPU)."""

    def loss(self, out: Batch, batch: Batch, config: Config) -> tuple[torch.Tensor, dict[str, float]]:
        """The loss to minimise and its parts for the log."""

    def init_weights(self, net: nn.Module, ckpt: Checkpoint, path: Path) -> None:
        """Start ``net`` from another run's checkpoint (``--init``)."""

    def preview_rows(self, net: nn.Module, batch: Batch, device: torch.device) -> list[torch.Tensor]:
        """Rows (3, H, W) of a preview grid for a few samples of ``batch``."""


class YNetRecipe:
    """The Y-network: actor and dubber crops through the shared encoder and their own decoders."""

    def build(self, config: Config) -> nn.Module:
        return YNet(config.ynet)

    def forward(self, net: nn.Module, batch: Batch) -> Batch:
        assert isinstance(net, YNet)
        return {"actor": net.actor(net.embed(batch["actor"])), "dubber": net.dubber(net.embed(batch["dubber"]))}

    def loss(self, out: Batch, batch: Batch, config: Config) -> tuple[torch.Tensor, dict[str, float]]:
        actor_loss, a = decoder_loss(out["actor"].float(), batch["actor"], batch["actor_face_mask"],
                                     batch["actor_mouth_mask"], config.train)
        dubber_loss, d = decoder_loss(out["dubber"].float(), batch["dubber"], batch["dubber_face_mask"],
                                      batch["dubber_mouth_mask"], config.train)
        loss = actor_loss + dubber_loss
        return loss, {"loss": float(loss.detach()), "actor": float(actor_loss.detach()),
                      "dubber": float(dubber_loss.detach()), **{f"actor_{k}": v for k, v in a.items()},
                      **{f"dubber_{k}": v for k, v in d.items()}}

    def init_weights(self, net: nn.Module, ckpt: Checkpoint, path: Path) -> None:
        """Encoder and style module only: per-shot decoders start fresh (paper)."""
        missing = net.load_state_dict(pretrained_weights(ckpt), strict=False)
        if any(k.startswith(("encoder.", "style.")) for k in missing.missing_keys):
            raise CheckpointError(f"{path}: lacks encoder or style-module weights; give a pre-training checkpoint.")

    def preview_rows(self, net: nn.Module, batch: Batch, device: torch.device) -> list[torch.Tensor]:
        """For a few actor and dubber crops: input | actor decoder | dubber decoder."""
        rows = []
        for key in ("actor", "dubber"):
            x = batch[key][:PREVIEW_ROWS].to(device)
            actor, dubber = net(x)
            rows += [torch.cat([i, a, d], dim=2) for i, a, d in zip(x, actor, dubber)]
        return rows


class FaceSRRecipe:
    """FaceSR: a small or soft face crop enlarged, against the plate's own crop at the output size."""

    def build(self, config: Config) -> nn.Module:
        return FaceSR(config.sr)

    def forward(self, net: nn.Module, batch: Batch) -> Batch:
        return {"output": net(batch["input"])}

    def loss(self, out: Batch, batch: Batch, config: Config) -> tuple[torch.Tensor, dict[str, float]]:
        loss, parts = decoder_loss(out["output"].float(), batch["target"], batch["face_mask"], batch["mouth_mask"],
                                   config.train)
        return loss, {"loss": float(loss.detach()), **parts}

    def init_weights(self, net: nn.Module, ckpt: Checkpoint, path: Path) -> None:
        """Every weight: a FaceSR fine-tune starts from another FaceSR run (e.g. one trained on photos)."""
        net.load_state_dict(ckpt.weights)

    def preview_rows(self, net: nn.Module, batch: Batch, device: torch.device) -> list[torch.Tensor]:
        """For a few samples: input enlarged by bicubic | FaceSR | the plate's crop."""
        x = batch["input"][:PREVIEW_ROWS].to(device)
        target = batch["target"][:PREVIEW_ROWS].to(device)
        bicubic = F.interpolate(x, size=target.shape[-2:], mode="bicubic", align_corners=False).clamp(0, 1)
        return [torch.cat([b, o, t], dim=2) for b, o, t in zip(bicubic, net(x), target)]


RECIPES: dict[str, Recipe] = {"ynet": YNetRecipe(), "face_sr": FaceSRRecipe()}
