"""NCSN++: the U-Net score network of SGMSE+/ScoreDec, with named per-stage submodules.

Structure (``L = len(ch_mult)`` levels, ``nf * ch_mult[i]`` channels at level i):
  input conv 3x3 (4 -> nf)
  down level i: ``num_res_blocks`` ResBlocks (+ attention if i in attn_levels), then (except the last
      level) a down-sampling ResBlock; every output is kept as a skip.
  bottleneck: ResBlock, attention, ResBlock.
  up level i (reversed): ``num_res_blocks + 1`` ResBlocks, each on ``cat(h, skip)``, (+ attention),
      then (except level 0) an up-sampling ResBlock.
  head: GroupNorm, SiLU, conv 3x3 (-> 4), conv 1x1 (4 -> 2).
The frequency and frame axes must be divisible by ``2 ** (L - 1)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from systems.spf.config import BackboneConfig
from systems.spf.layers import AttnBlock, FourierTimeEmbedding, ResBlock, group_norm, zero_init

IN_CHANNELS = 4  # x.real, x.imag, y.real, y.imag
OUT_CHANNELS = 2  # score.real, score.imag


class DownLevel(nn.Module):
    """Residual blocks of one resolution, optional attention, optional down-sampling block."""

    def __init__(self, blocks: list[ResBlock], attns: list[AttnBlock] | None, downsample: ResBlock | None):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.attns = nn.ModuleList(attns) if attns else None
        self.downsample = downsample

    def forward(self, h: torch.Tensor, temb: torch.Tensor, skips: list[torch.Tensor]) -> torch.Tensor:
        """Runs the level, appending every intermediate output to ``skips``."""
        for i, block in enumerate(self.blocks):
            h = block(h, temb)
            if self.attns is not None:
                h = self.attns[i](h)
            skips.append(h)
        if self.downsample is not None:
            h = self.downsample(h, temb)
            skips.append(h)
        return h


class UpLevel(nn.Module):
    """Residual blocks on concatenated skips, optional attention, optional up-sampling block."""

    def __init__(self, blocks: list[ResBlock], attn: AttnBlock | None, upsample: ResBlock | None):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.attn = attn
        self.upsample = upsample

    def forward(self, h: torch.Tensor, temb: torch.Tensor, skips: list[torch.Tensor]) -> torch.Tensor:
        """Consumes skips from the end of ``skips``."""
        for block in self.blocks:
            h = block(torch.cat([h, skips.pop()], dim=1), temb)
        if self.attn is not None:
            h = self.attn(h)
        if self.upsample is not None:
            h = self.upsample(h, temb)
        return h


class Bottleneck(nn.Module):
    """ResBlock -> attention -> ResBlock at the lowest resolution."""

    def __init__(self, channels: int, block_kwargs: dict, skip_rescale: bool) -> None:
        super().__init__()
        self.res1 = ResBlock(channels, channels, **block_kwargs)
        self.attn = AttnBlock(channels, skip_rescale=skip_rescale)
        self.res2 = ResBlock(channels, channels, **block_kwargs)

    def forward(self, h: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        return self.res2(self.attn(self.res1(h, temb)), temb)


class NCSNpp(nn.Module):
    """``x [B, 4, F, N]``, ``t [B]`` -> ``[B, 2, F, N]`` (unscaled network output).

    Args:
        cfg: backbone settings.
    """

    def __init__(self, cfg: BackboneConfig) -> None:
        super().__init__()
        if not cfg.ch_mult or cfg.nf <= 0 or cfg.num_res_blocks <= 0:
            raise ValueError(f"NCSN++: bad config {cfg}")
        bad = [lv for lv in cfg.attn_levels if not 0 <= lv < len(cfg.ch_mult)]
        if bad:
            raise ValueError(f"NCSN++: attn_levels {bad} outside 0..{len(cfg.ch_mult) - 1}")
        self.cfg = cfg
        nf, temb_dim = cfg.nf, 4 * cfg.nf
        bk = {"temb_dim": temb_dim, "fir_kernel": list(cfg.fir_kernel), "dropout": cfg.dropout,
              "skip_rescale": cfg.skip_rescale}
        attn = {"skip_rescale": cfg.skip_rescale}
        n_levels = len(cfg.ch_mult)

        self.time_embed = FourierTimeEmbedding(nf, cfg.fourier_scale)
        self.input_conv = nn.Conv2d(IN_CHANNELS, nf, 3, padding=1)

        skip_ch = [nf]
        ch = nf
        down: list[DownLevel] = []
        for level, mult in enumerate(cfg.ch_mult):
            blocks, attns = [], []
            for _ in range(cfg.num_res_blocks):
                blocks.append(ResBlock(ch, nf * mult, **bk))
                ch = nf * mult
                attns.append(AttnBlock(ch, **attn))
                skip_ch.append(ch)
            downsample = None
            if level < n_levels - 1:
                downsample = ResBlock(ch, ch, resample="down", **bk)
                skip_ch.append(ch)
            down.append(DownLevel(blocks, attns if level in cfg.attn_levels else None, downsample))
        self.down = nn.ModuleList(down)

        self.bottleneck = Bottleneck(ch, bk, cfg.skip_rescale)

        up: list[UpLevel] = []
        for level in reversed(range(n_levels)):
            blocks = []
            for _ in range(cfg.num_res_blocks + 1):
                out = nf * cfg.ch_mult[level]
                blocks.append(ResBlock(ch + skip_ch.pop(), out, **bk))
                ch = out
            level_attn = AttnBlock(ch, **attn) if level in cfg.attn_levels else None
            upsample = ResBlock(ch, ch, resample="up", **bk) if level > 0 else None
            up.append(UpLevel(blocks, level_attn, upsample))
        self.up = nn.ModuleList(up)
        assert not skip_ch

        self.out_norm = group_norm(ch)
        self.out_conv = zero_init(nn.Conv2d(ch, IN_CHANNELS, 3, padding=1), scale=0.1)
        self.output_layer = nn.Conv2d(IN_CHANNELS, OUT_CHANNELS, 1)

    @property
    def downsampling(self) -> int:
        """Spatial sizes must be divisible by this."""
        return 2 ** (len(self.cfg.ch_mult) - 1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Network output ``[B, 2, F, N]`` for input ``[B, 4, F, N]`` and times ``t [B]``."""
        f, n = x.shape[-2:]
        if f % self.downsampling or n % self.downsampling:
            raise ValueError(f"NCSN++: input {f}x{n} not divisible by {self.downsampling}")
        temb = self.time_embed(t)
        h = self.input_conv(x)
        skips = [h]
        for level in self.down:
            h = level(h, temb, skips)
        h = self.bottleneck(h, temb)
        for level in self.up:
            h = level(h, temb, skips)
        h = self.out_conv(F.silu(self.out_norm(h)))
        return self.output_layer(h)


def count_parameters(module: nn.Module) -> int:
    """Trainable + frozen parameters (buffers excluded)."""
    return sum(p.numel() for p in module.parameters())
