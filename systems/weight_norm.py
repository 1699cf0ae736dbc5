"""Weight-normalised 1-D convolutions whose parameters are named as in checkpoints made with the classic
``torch.nn.utils.weight_norm``: ``weight_g`` (magnitude), ``weight_v`` (direction) and ``bias``.

EnCodec's and DAC's published checkpoints carry these names. Writing the reparametrisation here keeps
their state dicts loading with ``strict=True`` without the deprecated hook, and computes the weight with
the same kernel the hook uses (``torch._weight_norm``), so outputs match the packages bit for bit where
the rest of the graph does.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class _WeightNormConv(nn.Module):
    """Shared parameters: ``weight_v`` ``[A, B, K]``, ``weight_g`` ``[A, 1, 1]`` (norm over dims 1, 2), ``bias``."""

    def __init__(self, shape: tuple[int, int, int], out_channels: int, bias: bool) -> None:
        super().__init__()
        v = torch.empty(shape)
        fan_in = shape[1] * shape[2]
        nn.init.uniform_(v, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
        self.weight_g = nn.Parameter(v.flatten(1).norm(dim=1).view(-1, 1, 1).clone())
        self.weight_v = nn.Parameter(v)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    @property
    def weight(self) -> torch.Tensor:
        """The effective kernel ``g * v / ||v||`` (norm over all but dim 0)."""
        return torch._weight_norm(self.weight_v, self.weight_g, 0)


class WNConv1d(_WeightNormConv):
    """``nn.Conv1d`` with weight normalisation: ``[B, C_in, T] -> [B, C_out, T']``.

    Args:
        in_channels: C_in.
        out_channels: C_out.
        kernel_size: K.
        stride: hop.
        padding: zeros added on both sides.
        dilation: dilation.
        bias: whether there is a bias.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        dilation: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__((out_channels, in_channels, kernel_size), out_channels, bias)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)


class WNConvTranspose1d(_WeightNormConv):
    """``nn.ConvTranspose1d`` with weight normalisation: ``[B, C_in, T] -> [B, C_out, (T-1)*stride - 2*padding + K]``.

    The kernel is ``[C_in, C_out, K]`` and its norm is taken per input channel, as ``weight_norm(dim=0)``
    does on a transposed convolution.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
        bias: bool = True,
    ) -> None:
        super().__init__((in_channels, out_channels, kernel_size), out_channels, bias)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose1d(x, self.weight, self.bias, self.stride, self.padding)
