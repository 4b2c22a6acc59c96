"""Losses of the Y-network (paper 3.2): 4 x SSIM loss on face-masked crops + 2 x L2 on mouth-masked crops."""
from __future__ import annotations

import torch
from kornia.losses import ssim_loss

from dubkernels.nets.config import TrainConfig


def decoder_loss(
    output: torch.Tensor, target: torch.Tensor, face: torch.Tensor, mouth: torch.Tensor, cfg: TrainConfig
) -> tuple[torch.Tensor, dict[str, float]]:
    """recon_weight * SSIM-loss(face-masked) + mouth_weight * L2(mouth-masked) for one decoder.

    ``output``/``target`` (B, 3, H, W) in 0..1; ``face``/``mouth`` masks (B, 1, H, W) in 0..1.
    kornia's ssim_loss is (1 - SSIM) / 2 with an 11x11 Gaussian window, sigma 1.5, data range 1.
    The mouth term is the paper's ||m_m * I_out - m_m * I_in||_2: the L2 norm of each image's
    masked difference (not a mean over all pixels, which would make it vanish next to the SSIM
    term), averaged over the batch.
    """
    recon = ssim_loss(output * face, target * face, window_size=cfg.ssim_window, max_val=1.0)
    mouth_l2 = torch.linalg.vector_norm(((output - target) * mouth).flatten(1), dim=1).mean()
    total = cfg.recon_weight * recon + cfg.mouth_weight * mouth_l2
    return total, {"ssim": float(recon.detach()), "mouth_l2": float(mouth_l2.detach())}
