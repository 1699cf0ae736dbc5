"""The SPF network: NCSN++ backbone + SDE (OUVE: score; SBVE: clean estimate) + compressed STFT."""

from __future__ import annotations

import torch
from torch import nn

from systems.spf.config import SPFConfig
from systems.spf.ncsnpp import NCSNpp
from systems.spf.sde import build_sde
from systems.spf.stft import CompressedSTFT

#: what the network predicts ("score" for OUVE, "data" for SBVE) -> its output scalings (BackboneConfig)
OUTPUT_SCALINGS: dict[str, tuple[str, ...]] = {"score": ("std", "t", "std_skip"), "data": ("data", "data_skip")}


class ScoreModel(nn.Module):
    """``model(x_t, y, t)`` on complex spectrograms ``[B, 1, F, N]``: the score (OUVE) or x0_hat (SBVE).

    Args:
        cfg: the full SPF config (the backbone, SDE and STFT are built from it).
    """

    def __init__(self, cfg: SPFConfig) -> None:
        super().__init__()
        self.sde = build_sde(cfg.sde)
        allowed = OUTPUT_SCALINGS[self.sde.predicts]
        if cfg.backbone.output_scaling not in allowed:
            raise ValueError(
                f"backbone.output_scaling must be one of {list(allowed)} for sde {cfg.sde.name!r}, "
                f"got {cfg.backbone.output_scaling!r}"
            )
        self.cfg = cfg
        self.backbone = NCSNpp(cfg.backbone)
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
        """Score estimate (OUVE) or clean estimate x0_hat (SBVE).

        Args:
            x: ``[B, 1, F, N]`` complex current state.
            y: ``[B, 1, F, N]`` complex conditioner (coded signal).
            t: ``[B]`` diffusion times in (0, 1].
        Returns:
            ``[B, 1, F, N]`` complex score or x0_hat.
        """
        inp = torch.cat([x.real, x.imag, y.real, y.imag], dim=1)
        out = self.backbone(inp, t).float()  # float32 even under autocast (complex half is not supported)
        mode = self.cfg.backbone.output_scaling
        if self.sde.predicts == "data":
            est = torch.complex(out[:, 0], out[:, 1]).unsqueeze(1)
            return y + est if mode == "data_skip" else est
        scale = (t if mode == "t" else self.sde.std(t)).view(-1, 1, 1, 1)
        score = -torch.complex(out[:, 0], out[:, 1]).unsqueeze(1) / scale
        if mode == "std_skip":
            score = score - (x - y) / scale**2
        return score
