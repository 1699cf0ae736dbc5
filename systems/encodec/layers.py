"""EnCodec's building blocks: padded convolutions, the LSTM block and the SEANet residual block.

Parameter names follow the published checkpoints: a ``SConv1d`` holds ``conv.conv`` (the convolution,
``weight_g``/``weight_v``/``bias`` under weight norm, ``weight``/``bias`` otherwise) and ``conv.norm``
(a one-group GroupNorm under ``time_group_norm``, nothing otherwise); a ``SConvTranspose1d`` holds
``convtr.convtr`` and ``convtr.norm``.

Padding rules (the model's output length and alignment depend on them): a convolution of kernel K,
stride S and dilation D pads ``(K - 1) * D - (S - 1)`` samples in total, all on the left when causal and
split (the extra one on the left) otherwise, plus whatever on the right makes the last window full.
Padding reflects the signal. Transposed convolutions remove ``K - S`` samples the same way.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from systems.weight_norm import WNConv1d, WNConvTranspose1d

#: normalisations the released models use: 24 kHz ``weight_norm``, 48 kHz ``time_group_norm``.
NORMS = ("weight_norm", "time_group_norm")


def extra_right_padding(length: int, kernel: int, stride: int, padding_total: int) -> int:
    """Samples to add on the right so that the last convolution window is full."""
    n_frames = (length - kernel + padding_total) / stride + 1
    ideal = (math.ceil(n_frames) - 1) * stride + (kernel - padding_total)
    return ideal - length


def reflect_pad(x: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """Reflect-pad ``[B, C, T]``; inputs shorter than the padding get zeros appended first (then removed)."""
    length = x.shape[-1]
    extra = max(left, right) - length + 1 if length <= max(left, right) else 0
    if extra:
        x = F.pad(x, (0, extra))
    padded = F.pad(x, (left, right), mode="reflect")
    return padded[..., : padded.shape[-1] - extra]


def _check_norm(norm: str, causal: bool) -> None:
    if norm not in NORMS:
        raise ValueError(f"unknown EnCodec normalisation {norm!r} (known: {', '.join(NORMS)})")
    if norm == "time_group_norm" and causal:
        raise ValueError("time_group_norm is not causal")


class _NormConv(nn.Module):
    """The convolution and its normalisation (attribute names as in the checkpoints)."""

    def __init__(self, conv: nn.Module, out_channels: int, norm: str, attr: str) -> None:
        super().__init__()
        setattr(self, attr, conv)
        self._attr = attr
        self.norm = nn.GroupNorm(1, out_channels) if norm == "time_group_norm" else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(getattr(self, self._attr)(x))


class SConv1d(nn.Module):
    """Convolution with EnCodec's padding: ``[B, C_in, T] -> [B, C_out, ceil(T / stride)]``.

    Args:
        in_channels: C_in.
        out_channels: C_out.
        kernel_size: K.
        stride: S.
        dilation: D.
        causal: pad on the left only.
        norm: "weight_norm" or "time_group_norm".
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, dilation: int = 1,
        causal: bool = False, norm: str = "weight_norm",
    ) -> None:
        super().__init__()
        _check_norm(norm, causal)
        conv: nn.Module
        if norm == "weight_norm":
            conv = WNConv1d(in_channels, out_channels, kernel_size, stride, dilation=dilation)
        else:
            conv = nn.Conv1d(in_channels, out_channels, kernel_size, stride, dilation=dilation)
        self.conv = _NormConv(conv, out_channels, norm, "conv")
        self.kernel_size, self.stride, self.dilation, self.causal = kernel_size, stride, dilation, causal

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = (self.kernel_size - 1) * self.dilation - (self.stride - 1)
        extra = extra_right_padding(x.shape[-1], self.kernel_size, self.stride, total)
        if self.causal:
            x = reflect_pad(x, total, extra)
        else:
            x = reflect_pad(x, total - total // 2, total // 2 + extra)
        return self.conv(x)


class SConvTranspose1d(nn.Module):
    """Transposed convolution with the padding removed: ``[B, C_in, T] -> [B, C_out, T * stride]``.

    Causal models remove all ``K - S`` extra samples on the right (``trim_right_ratio`` 1).
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, causal: bool = False,
        norm: str = "weight_norm",
    ) -> None:
        super().__init__()
        _check_norm(norm, causal)
        conv: nn.Module
        if norm == "weight_norm":
            conv = WNConvTranspose1d(in_channels, out_channels, kernel_size, stride)
        else:
            conv = nn.ConvTranspose1d(in_channels, out_channels, kernel_size, stride)
        self.convtr = _NormConv(conv, out_channels, norm, "convtr")
        self.kernel_size, self.stride, self.causal = kernel_size, stride, causal

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.convtr(x)
        total = self.kernel_size - self.stride
        right = total if self.causal else total // 2
        return y[..., total - right : y.shape[-1] - right]


class SLSTM(nn.Module):
    """A stacked LSTM over time with a skip connection: ``[B, C, T] -> [B, C, T]``."""

    def __init__(self, dimension: int, num_layers: int = 2) -> None:
        super().__init__()
        self.lstm = nn.LSTM(dimension, dimension, num_layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq = x.permute(2, 0, 1)  # [T, B, C]
        y, _ = self.lstm(seq)
        return (y + seq).permute(1, 2, 0)


class ResnetBlock(nn.Module):
    """SEANet residual block: ``x -> shortcut(x) + conv1x1(elu(conv_K(elu(x))))`` on ``[B, C, T]``.

    Args:
        dim: channels C.
        kernel_size: first convolution's kernel.
        dilation: first convolution's dilation.
        causal: causal padding.
        norm: normalisation.
        compress: the hidden width is ``C // compress``.
    """

    def __init__(
        self, dim: int, kernel_size: int, dilation: int, causal: bool, norm: str, compress: int = 2
    ) -> None:
        super().__init__()
        hidden = dim // compress
        self.block = nn.Sequential(
            nn.ELU(alpha=1.0),
            SConv1d(dim, hidden, kernel_size, dilation=dilation, causal=causal, norm=norm),
            nn.ELU(alpha=1.0),
            SConv1d(hidden, dim, 1, causal=causal, norm=norm),
        )
        self.shortcut = SConv1d(dim, dim, 1, causal=causal, norm=norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.block(x)
