"""EnCodec's SEANet encoder and decoder (layer order and names as in the published checkpoints)."""

from __future__ import annotations

import math

import torch
from torch import nn

from systems.encodec.layers import SLSTM, ResnetBlock, SConv1d, SConvTranspose1d


class SEANetEncoder(nn.Module):
    """Waveform ``[B, channels, T]`` -> embedding ``[B, dimension, ceil(T / hop)]``.

    ``model`` is one ``nn.Sequential``: input conv; per downsampling ratio (8, 5, 4, 2 read backwards)
    a residual block, ELU and a strided conv doubling the width; a 2-layer LSTM; ELU and the output conv.

    Args:
        channels: audio channels (1 for the 24 kHz model, 2 for the 48 kHz model).
        causal: causal padding (24 kHz) or centred (48 kHz).
        norm: "weight_norm" (24 kHz) or "time_group_norm" (48 kHz).
        dimension: embedding size D.
        n_filters: width of the first stage.
        ratios: decoder-order upsampling ratios; the encoder uses them reversed.
    """

    def __init__(
        self, channels: int = 1, causal: bool = True, norm: str = "weight_norm", dimension: int = 128,
        n_filters: int = 32, ratios: tuple[int, ...] = (8, 5, 4, 2),
    ) -> None:
        super().__init__()
        self.channels, self.dimension = channels, dimension
        self.ratios = list(reversed(ratios))
        self.hop_length = math.prod(self.ratios)
        layers: list[nn.Module] = [SConv1d(channels, n_filters, 7, causal=causal, norm=norm)]
        width = n_filters
        for ratio in self.ratios:
            layers += [
                ResnetBlock(width, 3, 1, causal, norm),
                nn.ELU(alpha=1.0),
                SConv1d(width, width * 2, ratio * 2, stride=ratio, causal=causal, norm=norm),
            ]
            width *= 2
        layers += [SLSTM(width), nn.ELU(alpha=1.0), SConv1d(width, dimension, 7, causal=causal, norm=norm)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class SEANetDecoder(nn.Module):
    """Embedding ``[B, dimension, F]`` -> waveform ``[B, channels, F * hop]`` (the mirror of the encoder)."""

    def __init__(
        self, channels: int = 1, causal: bool = True, norm: str = "weight_norm", dimension: int = 128,
        n_filters: int = 32, ratios: tuple[int, ...] = (8, 5, 4, 2),
    ) -> None:
        super().__init__()
        self.channels, self.dimension = channels, dimension
        self.ratios = list(ratios)
        self.hop_length = math.prod(self.ratios)
        width = n_filters * 2 ** len(self.ratios)
        layers: list[nn.Module] = [SConv1d(dimension, width, 7, causal=causal, norm=norm), SLSTM(width)]
        for ratio in self.ratios:
            layers += [
                nn.ELU(alpha=1.0),
                SConvTranspose1d(width, width // 2, ratio * 2, stride=ratio, causal=causal, norm=norm),
                ResnetBlock(width // 2, 3, 1, causal, norm),
            ]
            width //= 2
        layers += [nn.ELU(alpha=1.0), SConv1d(n_filters, channels, 7, causal=causal, norm=norm)]
        self.model = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z)
