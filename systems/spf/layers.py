"""Building blocks of NCSN++: Fourier time embedding, FIR resampling, BigGAN residual and attention blocks."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with ``min(C // 4, 32)`` groups (at least one), eps 1e-6."""
    return nn.GroupNorm(max(1, min(channels // 4, 32)), channels, eps=1e-6)


def zero_init(module: nn.Module, scale: float = 1e-10) -> nn.Module:
    """Scale a layer's weights to ~0 and zero its bias so a residual branch starts as identity."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            else:
                p.mul_(scale)
    return module


class FourierTimeEmbedding(nn.Module):
    """``t [B] -> [B, 4 nf]``: fixed Gaussian Fourier features of ``log t``, then two dense layers.

    Args:
        nf: base channels; the projection has ``nf`` frequencies (sin and cos -> 2 nf features).
        scale: standard deviation of the random frequencies.
    """

    def __init__(self, nf: int, scale: float) -> None:
        super().__init__()
        self.register_buffer("freqs", torch.randn(nf) * scale)
        self.dense1 = nn.Linear(2 * nf, 4 * nf)
        self.dense2 = nn.Linear(4 * nf, 4 * nf)
        nn.init.zeros_(self.dense1.bias)
        nn.init.zeros_(self.dense2.bias)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        proj = torch.log(t)[:, None] * self.freqs[None, :] * (2 * math.pi)
        feats = torch.cat([torch.sin(proj), torch.cos(proj)], dim=-1)
        return self.dense2(F.silu(self.dense1(feats)))


class FIRResample(nn.Module):
    """2x up- or down-sampling of ``[B, C, H, W]`` with a separable FIR kernel (zero padding).

    Down: filter then keep every second sample (output ``[B, C, H/2, W/2]``). Up: zero-insertion
    then filter with gain 4 (output ``[B, C, 2H, 2W]``); for ``[1, 3, 3, 1]`` both are centred.

    Args:
        kernel: 1-D taps; normalised to sum 1 per axis.
        up: True for upsampling, False for downsampling.
    """

    def __init__(self, kernel: list[int], up: bool) -> None:
        super().__init__()
        k = torch.tensor(kernel, dtype=torch.float32)
        k2 = torch.outer(k, k)
        k2 = k2 / k2.sum()
        self.up = up
        self.register_buffer("kernel", (k2 * 4 if up else k2)[None, None], persistent=False)
        taps = len(kernel)
        self.pad = (taps - 2) // 2 if not up else (taps - 1) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        weight = self.kernel.to(x.dtype).expand(c, 1, -1, -1)
        if self.up:
            return F.conv_transpose2d(x, weight, stride=2, padding=self.pad, groups=c)
        return F.conv2d(x, weight, stride=2, padding=self.pad, groups=c)


class ResBlock(nn.Module):
    """BigGAN-style residual block with time conditioning and optional 2x resampling.

    ``h = conv2(drop(act(norm2(conv1(resample(act(norm1(x)))) + dense(act(temb))))))``,
    ``out = (skip(resample(x)) + h) / sqrt(2)`` when skip rescaling is on.

    Args:
        in_ch: input channels.
        out_ch: output channels.
        temb_dim: time-embedding size.
        resample: "none", "up" or "down".
        fir_kernel: FIR taps for resampling.
        dropout: dropout probability.
        skip_rescale: divide the sum by sqrt(2).
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        temb_dim: int,
        *,
        resample: str = "none",
        fir_kernel: list[int],
        dropout: float,
        skip_rescale: bool,
    ) -> None:
        super().__init__()
        if resample not in ("none", "up", "down"):
            raise ValueError(f"ResBlock: resample must be none/up/down, got {resample!r}")
        self.norm1 = group_norm(in_ch)
        self.resample = FIRResample(fir_kernel, up=resample == "up") if resample != "none" else None
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.temb_proj = nn.Linear(temb_dim, out_ch)
        nn.init.zeros_(self.temb_proj.bias)
        self.norm2 = group_norm(out_ch)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = zero_init(nn.Conv2d(out_ch, out_ch, 3, padding=1))
        needs_skip = in_ch != out_ch or resample != "none"
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if needs_skip else None
        self.out_scale = 1 / math.sqrt(2.0) if skip_rescale else 1.0

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        """``x [B, in_ch, H, W]``, ``temb [B, temb_dim]`` -> ``[B, out_ch, H', W']``."""
        h = F.silu(self.norm1(x))
        if self.resample is not None:
            h = self.resample(h)
            x = self.resample(x)
        h = self.conv1(h)
        h = h + self.temb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        if self.skip is not None:
            x = self.skip(x)
        return (x + h) * self.out_scale


#: attention scores held at once: queries are taken in blocks of ``ATTENTION_SCORES // positions`` so that memory
#: grows linearly, not quadratically, with the positions (a long chunk of a fine STFT has tens of thousands)
ATTENTION_SCORES = 1 << 24


class AttnBlock(nn.Module):
    """Self-attention over all positions of ``[B, C, H, W]`` (single head), residual; the queries are
    processed in blocks so that at most :data:`ATTENTION_SCORES` scores per batch item exist at once.

    Args:
        channels: C.
        skip_rescale: divide the residual sum by sqrt(2).
    """

    def __init__(self, channels: int, *, skip_rescale: bool) -> None:
        super().__init__()
        self.norm = group_norm(channels)
        self.query = nn.Linear(channels, channels)
        self.key = nn.Linear(channels, channels)
        self.value = nn.Linear(channels, channels)
        self.out = zero_init(nn.Linear(channels, channels))
        self.out_scale = 1 / math.sqrt(2.0) if skip_rescale else 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        tokens = self.norm(x).flatten(2).transpose(1, 2)  # [B, HW, C]
        q, k, v = self.query(tokens), self.key(tokens), self.value(tokens)
        block = max(1, ATTENTION_SCORES // k.shape[1])
        if q.shape[1] <= block:
            att = F.scaled_dot_product_attention(q, k, v)
        else:  # each query's softmax is over all keys: blocks of queries give the same result
            att = torch.cat([F.scaled_dot_product_attention(q[:, i:i + block], k, v)
                             for i in range(0, q.shape[1], block)], dim=1)
        out = self.out(att).transpose(1, 2).reshape(b, c, h, w)
        return (x + out) * self.out_scale
