"""The score model: NCSN++ backbone + OUVE SDE + compressed STFT, in complex spectrogram terms."""

from __future__ import annotations

import torch
from torch import nn

from systems.spf.config import SPFConfig
from systems.spf.ncsnpp import NCSNpp
from systems.spf.sde import OUVESDE
from systems.spf.stft import CompressedSTFT


class ScoreModel(nn.Module):
    """``score(x_t, y, t)`` on complex spectrograms ``[B, 1, F, N]``.

    Args:
        cfg: the full SPF config (the backbone, SDE and STFT are built from it).
    """

    def __init__(self, cfg: SPFConfig) -> None:
        super().__init__()
        if cfg.backbone.output_scaling not in ("std", "t", "std_skip"):
            raise ValueError(
                f"backbone.output_scaling must be 'std', 't' or 'std_skip', got {cfg.backbone.output_scaling!r}"
            )
        self.cfg = cfg
        self.backbone = NCSNpp(cfg.backbone)
        self.sde = OUVESDE(cfg.sde)
        self.stft = CompressedSTFT(cfg.stft)
        if self.stft.n_bins % self.backbone.downsampling:
            raise ValueError(
                f"STFT bins {self.stft.n_bins} not divisible by the U-Net's {self.backbone.downsampling}"
            )
        if cfg.stft.frame_multiple % self.backbone.downsampling:
            raise ValueError(
                f"stft.frame_multiple {cfg.stft.frame_multiple} must be a multiple of {self.backbone.downsampling}"
            )

    def forward(self, x: torch.Tensor, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Score estimate.

        Args:
            x: ``[B, 1, F, N]`` complex current state.
            y: ``[B, 1, F, N]`` complex conditioner (coded signal).
            t: ``[B]`` diffusion times in (0, 1].
        Returns:
            ``[B, 1, F, N]`` complex score.
        """
        inp = torch.cat([x.real, x.imag, y.real, y.imag], dim=1)
        out = self.backbone(inp, t)
        mode = self.cfg.backbone.output_scaling
        scale = (t if mode == "t" else self.sde.std(t)).view(-1, 1, 1, 1)
        score = -torch.complex(out[:, 0], out[:, 1]).unsqueeze(1) / scale
        if mode == "std_skip":
            score = score - (x - y) / scale**2
        return score
