"""The AudioDec autoencoder: causal encoder, projector, residual VQ and symmetric decoder.

Module and parameter names match the official checkpoints (``encoder.conv_blocks.0.res_units.0.conv1...``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from systems.audiodec.layers import CausalConv1d, CausalConvTranspose1d, ResidualUnit, reset_streams
from systems.audiodec.quantizer import Quantizer

DILATIONS = (1, 3, 9)


@dataclass(frozen=True)
class GeneratorParams:
    """``generator_params`` of an official autoencoder ``config.yml`` (same key names)."""

    input_channels: int = 1
    output_channels: int = 1
    encode_channels: int = 32
    decode_channels: int = 32
    code_dim: int = 64
    codebook_num: int = 16
    codebook_size: int = 1024
    bias: bool = True
    enc_ratios: tuple[int, ...] = (2, 4, 8, 16)
    dec_ratios: tuple[int, ...] = (16, 8, 4, 2)
    enc_strides: tuple[int, ...] = (2, 4, 5, 8)
    dec_strides: tuple[int, ...] = (8, 5, 4, 2)
    mode: str = "causal"
    codec: str = "audiodec"
    projector: str = "conv1d"
    quantier: str = "residual_vq"  # sic: the official key is spelled this way

    @property
    def hop(self) -> int:
        """Samples per code frame (product of the encoder strides)."""
        h = 1
        for s in self.enc_strides:
            h *= s
        return h


class EncoderBlock(nn.Module):
    """Three residual units (dilations 1, 3, 9) then a strided causal conv (kernel 2 * stride)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, bias: bool) -> None:
        super().__init__()
        self.res_units = nn.ModuleList([ResidualUnit(in_channels, d) for d in DILATIONS])
        self.conv = CausalConv1d(in_channels, out_channels, 2 * stride, stride=stride, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, T]`` -> ``[B, C', T / stride]``."""
        for unit in self.res_units:
            x = unit(x)
        return self.conv(x)

    def stream(self, x: torch.Tensor) -> torch.Tensor:
        for unit in self.res_units:
            x = unit.stream(x)
        return self.conv.stream(x)


class Encoder(nn.Module):
    """Waveform ``[B, 1, T]`` -> features ``[B, encode_channels * enc_ratios[-1], T / hop]``."""

    def __init__(self, p: GeneratorParams) -> None:
        super().__init__()
        self.conv = CausalConv1d(p.input_channels, p.encode_channels, 7, bias=False)
        blocks, ch = [], p.encode_channels
        for ratio, stride in zip(p.enc_ratios, p.enc_strides):
            blocks.append(EncoderBlock(ch, p.encode_channels * ratio, stride, p.bias))
            ch = p.encode_channels * ratio
        self.conv_blocks = nn.ModuleList(blocks)
        self.out_channels = ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        for block in self.conv_blocks:
            x = block(x)
        return x

    def stream(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv.stream(x)
        for block in self.conv_blocks:
            x = block.stream(x)
        return x


class DecoderBlock(nn.Module):
    """Causal transposed conv (kernel 2 * stride) then three residual units."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, bias: bool) -> None:
        super().__init__()
        self.conv = CausalConvTranspose1d(in_channels, out_channels, 2 * stride, stride, bias=bias)
        self.res_units = nn.ModuleList([ResidualUnit(out_channels, d) for d in DILATIONS])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, N]`` -> ``[B, C', N * stride]``."""
        x = self.conv(x)
        for unit in self.res_units:
            x = unit(x)
        return x

    def stream(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv.stream(x)
        for unit in self.res_units:
            x = unit.stream(x)
        return x


class Decoder(nn.Module):
    """Codes ``[B, code_dim, N]`` -> waveform ``[B, 1, N * hop]`` (no output non-linearity)."""

    def __init__(self, p: GeneratorParams) -> None:
        super().__init__()
        chans = [p.decode_channels * r for r in p.dec_ratios] + [p.decode_channels]
        self.conv1 = CausalConv1d(p.code_dim, chans[0], 7, bias=False)
        self.conv_blocks = nn.ModuleList(
            [DecoderBlock(chans[i], chans[i + 1], s, p.bias) for i, s in enumerate(p.dec_strides)]
        )
        self.conv2 = CausalConv1d(p.decode_channels, p.output_channels, 7, bias=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.conv1(z)
        for block in self.conv_blocks:
            x = block(x)
        return self.conv2(x)

    def stream(self, z: torch.Tensor) -> torch.Tensor:
        x = self.conv1.stream(z)
        for block in self.conv_blocks:
            x = block.stream(x)
        return self.conv2.stream(x)


class Projector(nn.Module):
    """Causal conv (kernel 3, no bias) from encoder features to ``code_dim``."""

    def __init__(self, in_channels: int, code_dim: int) -> None:
        super().__init__()
        self.project = CausalConv1d(in_channels, code_dim, 3, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(x)

    def stream(self, x: torch.Tensor) -> torch.Tensor:
        return self.project.stream(x)


class Generator(nn.Module):
    """Encoder -> projector -> residual VQ -> decoder.

    Args:
        params: the ``generator_params`` of the model's config.
    """

    def __init__(self, params: GeneratorParams) -> None:
        super().__init__()
        if params.mode != "causal" or params.codec != "audiodec" or params.projector != "conv1d":
            raise ValueError(
                f"only mode=causal, codec=audiodec, projector=conv1d are supported (got {params.mode}, "
                f"{params.codec}, {params.projector})"
            )
        if params.quantier != "residual_vq":
            raise ValueError(f"only quantier=residual_vq is supported (got {params.quantier})")
        if list(params.enc_strides) != list(reversed(params.dec_strides)):
            raise ValueError(f"dec_strides {params.dec_strides} must mirror enc_strides {params.enc_strides}")
        self.params = params
        self.hop = params.hop
        self.encoder = Encoder(params)
        self.decoder = Decoder(params)
        self.projector = Projector(self.encoder.out_channels, params.code_dim)
        self.quantizer = Quantizer(params.code_dim, params.codebook_num, params.codebook_size)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Waveform ``[B, 1, T]`` (T a multiple of hop) -> (zq ``[B, D, N]``, VQ losses ``[Q]``, codes ``[Q, B, N]``)."""
        return self.quantizer(self.projector(self.encoder(x)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``[B, 1, T]`` -> (reconstruction ``[B, 1, T]``, zq ``[B, D, T / hop]``, VQ losses ``[Q]``)."""
        zq, losses, _ = self.encode(x)
        return self.decoder(zq), zq, losses

    def stream_encode(self, x: torch.Tensor) -> torch.Tensor:
        """One chunk ``[B, 1, k * hop]`` -> codes ``[Q, B, k]`` using the cached history."""
        _, _, codes = self.quantizer(self.projector.stream(self.encoder.stream(x)))
        return codes

    def reset_streams(self) -> None:
        """Clear all streaming histories."""
        reset_streams(self)
