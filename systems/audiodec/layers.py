"""Causal convolutions with a persistent ``pad_buffer`` history, and the residual unit built on them.

Offline (``forward``) every causal conv pads its input on the left; in streaming mode (``stream``) the
left context comes from ``pad_buffer``, which then holds the newest input frames. ``pad_buffer`` is a
persistent buffer so that the official AudioDec checkpoints, which carry it, load strictly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class CausalConv1d(nn.Module):
    """Conv1d that only looks back: ``(kernel - 1) * dilation`` samples of left context.

    Args:
        in_channels: input channels C.
        out_channels: output channels C'.
        kernel_size: kernel length K.
        stride: hop; streaming chunks must be multiples of it.
        dilation: dilation D.
        groups: channel groups.
        bias: whether the conv has a bias.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.pad_length = (kernel_size - 1) * dilation
        self.conv = nn.Conv1d(
            in_channels, out_channels, kernel_size, stride=stride, dilation=dilation, groups=groups, bias=bias
        )
        self.register_buffer("pad_buffer", torch.zeros(1, in_channels, self.pad_length))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, T]`` -> ``[B, C', ceil(T / stride)]`` with zero history."""
        return self.conv(F.pad(x, (self.pad_length, 0)))

    def stream(self, x: torch.Tensor) -> torch.Tensor:
        """One chunk ``[B, C, L]`` (L a multiple of the stride), continuing from ``pad_buffer``."""
        history = self.pad_buffer
        if history.shape[0] != x.shape[0]:
            history = history[:1].expand(x.shape[0], -1, -1)
        x = torch.cat((history.to(x.dtype), x), dim=-1)
        if self.pad_length:
            self.pad_buffer = x[:, :, x.shape[-1] - self.pad_length :].detach()
        return self.conv(x)

    def reset_stream(self) -> None:
        """Forget the streaming history (zeros, as offline)."""
        self.pad_buffer = torch.zeros_like(self.pad_buffer[:1])


class CausalConvTranspose1d(nn.Module):
    """Transposed conv (kernel ``2 * stride``) whose output frame n depends on input frames n-1 and n.

    Offline the missing frame before the first one is a copy of the first frame (replication), and the
    streaming mode does the same on its first chunk, so both agree exactly.

    Args:
        in_channels: input channels C.
        out_channels: output channels C'.
        kernel_size: kernel length (2 * stride in AudioDec).
        stride: upsampling factor S.
        bias: whether the conv has a bias.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int, bias: bool = True
    ) -> None:
        super().__init__()
        self.stride = stride
        self.pad_length = math.ceil(kernel_size / stride) - 1
        self.deconv = nn.ConvTranspose1d(in_channels, out_channels, kernel_size, stride=stride, bias=bias)
        self.register_buffer("pad_buffer", torch.zeros(1, in_channels, self.pad_length))
        self._started = False

    def _crop(self, y: torch.Tensor) -> torch.Tensor:
        return y[:, :, self.stride : y.shape[-1] - self.stride]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, N]`` -> ``[B, C', N * stride]``."""
        x = F.pad(x, (self.pad_length, 0), mode="replicate")
        return self._crop(self.deconv(x))

    def stream(self, x: torch.Tensor) -> torch.Tensor:
        """One chunk of frames ``[B, C, n]`` -> ``[B, C', n * stride]``, continuing from ``pad_buffer``."""
        if not self._started:
            history = x[:, :, :1].expand(-1, -1, self.pad_length)
            self._started = True
        else:
            history = self.pad_buffer
        x = torch.cat((history.to(x.dtype), x), dim=-1)
        self.pad_buffer = x[:, :, x.shape[-1] - self.pad_length :].detach()
        return self._crop(self.deconv(x))

    def reset_stream(self) -> None:
        """Forget the streaming history; the next chunk starts like offline decoding."""
        self.pad_buffer = torch.zeros_like(self.pad_buffer[:1])
        self._started = False


class ResidualUnit(nn.Module):
    """``x + conv2(ELU(conv1(ELU(x))))``: causal dilated conv (kernel 7) then a 1x1 conv, no biases.

    Args:
        channels: channels C (in = out).
        dilation: dilation of conv1.
        kernel_size: kernel of conv1.
    """

    def __init__(self, channels: int, dilation: int, kernel_size: int = 7) -> None:
        super().__init__()
        self.activation = nn.ELU()
        self.conv1 = CausalConv1d(channels, channels, kernel_size, dilation=dilation, bias=False)
        self.conv2 = nn.Conv1d(channels, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, T]`` -> ``[B, C, T]``."""
        return x + self.conv2(self.activation(self.conv1(self.activation(x))))

    def stream(self, x: torch.Tensor) -> torch.Tensor:
        """Streaming twin of :meth:`forward`."""
        return x + self.conv2(self.activation(self.conv1.stream(self.activation(x))))


def reset_streams(module: nn.Module) -> None:
    """Reset the streaming history of every causal conv inside ``module``."""
    for m in module.modules():
        if isinstance(m, (CausalConv1d, CausalConvTranspose1d)):
            m.reset_stream()
