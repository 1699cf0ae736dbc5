"""The Descript Audio Codec (Kumar et al., 2023) for inference, with the released checkpoints' names.

The encoder is a stack of strided convolution blocks (residual units with dilations 1, 3, 9 and Snake
activations); the quantizer is a residual VQ with factorised codes (each stage projects the residual to
``codebook_dim`` dimensions, picks the nearest L2-normalised codebook entry, and projects back); the
decoder mirrors the encoder with transposed convolutions and ends in ``tanh``. All convolutions are
weight-normalised and centred (zero padding), so the output is aligned with the input.

``DACConfig`` holds the constructor arguments that the released ``weights.pth`` files carry in
``metadata["kwargs"]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from systems.dac.presets import PRESETS, DACConfig  # noqa: F401 - PRESETS: also importable from here, as before
from systems.weight_norm import WNConv1d, WNConvTranspose1d


class Snake1d(nn.Module):
    """``x + sin(alpha * x)^2 / alpha`` per channel on ``[B, C, T]``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(1, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + (self.alpha + 1e-9).reciprocal() * torch.sin(self.alpha * x).pow(2)


class ResidualUnit(nn.Module):
    """``x + conv1x1(snake(conv7_dilated(snake(x))))`` on ``[B, C, T]``."""

    def __init__(self, dim: int, dilation: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            Snake1d(dim),
            WNConv1d(dim, dim, 7, dilation=dilation, padding=3 * dilation),
            Snake1d(dim),
            WNConv1d(dim, dim, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class EncoderBlock(nn.Module):
    """Three residual units at ``dim // 2`` channels, then a strided conv to ``dim``: T -> T / stride."""

    def __init__(self, dim: int, stride: int) -> None:
        super().__init__()
        half = dim // 2
        self.block = nn.Sequential(
            ResidualUnit(half, 1), ResidualUnit(half, 3), ResidualUnit(half, 9), Snake1d(half),
            WNConv1d(half, dim, 2 * stride, stride=stride, padding=math.ceil(stride / 2)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class Encoder(nn.Module):
    """Waveform ``[B, 1, T]`` (T a multiple of the hop) -> latent ``[B, latent, T / hop]``."""

    def __init__(self, d_model: int, strides: tuple[int, ...], d_latent: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [WNConv1d(1, d_model, 7, padding=3)]
        for stride in strides:
            d_model *= 2
            layers.append(EncoderBlock(d_model, stride))
        layers += [Snake1d(d_model), WNConv1d(d_model, d_latent, 3, padding=1)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class DecoderBlock(nn.Module):
    """Snake, a transposed conv (T -> T * stride, ``in_dim`` -> ``out_dim``), three residual units."""

    def __init__(self, in_dim: int, out_dim: int, stride: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            Snake1d(in_dim),
            WNConvTranspose1d(in_dim, out_dim, 2 * stride, stride=stride, padding=math.ceil(stride / 2)),
            ResidualUnit(out_dim, 1), ResidualUnit(out_dim, 3), ResidualUnit(out_dim, 9),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class Decoder(nn.Module):
    """Latent ``[B, latent, F]`` -> waveform ``[B, 1, F * hop]`` in (-1, 1)."""

    def __init__(self, input_channel: int, channels: int, rates: tuple[int, ...]) -> None:
        super().__init__()
        layers: list[nn.Module] = [WNConv1d(input_channel, channels, 7, padding=3)]
        for i, stride in enumerate(rates):
            layers.append(DecoderBlock(channels // 2**i, channels // 2 ** (i + 1), stride))
        out_dim = channels // 2 ** len(rates)
        layers += [Snake1d(out_dim), WNConv1d(out_dim, 1, 7, padding=3), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z)


class VectorQuantize(nn.Module):
    """One factorised stage: ``in_proj`` to ``codebook_dim``, cosine-nearest ``codebook`` row, ``out_proj``."""

    def __init__(self, input_dim: int, codebook_size: int, codebook_dim: int) -> None:
        super().__init__()
        self.in_proj = WNConv1d(input_dim, codebook_dim, 1)
        self.out_proj = WNConv1d(codebook_dim, input_dim, 1)
        self.codebook = nn.Embedding(codebook_size, codebook_dim)

    def encode(self, z: torch.Tensor) -> torch.Tensor:
        """Residual ``[B, D, F]`` -> indices ``[B, F]``."""
        latents = self.in_proj(z)
        b, d, f = latents.shape
        enc = F.normalize(latents.transpose(1, 2).reshape(b * f, d))
        book = F.normalize(self.codebook.weight)
        dist = enc.pow(2).sum(1, keepdim=True) - 2 * enc @ book.t() + book.pow(2).sum(1, keepdim=True).t()
        return (-dist).max(1)[1].view(b, f)

    def decode(self, indices: torch.Tensor) -> torch.Tensor:
        """Indices ``[B, F]`` -> this stage's contribution ``[B, D, F]``."""
        return self.out_proj(F.embedding(indices, self.codebook.weight).transpose(1, 2))


class ResidualVectorQuantize(nn.Module):
    """``n_codebooks`` factorised stages, each coding the residual of the ones before."""

    def __init__(self, input_dim: int, n_codebooks: int, codebook_size: int, codebook_dim: int | tuple[int, ...]):
        super().__init__()
        dims = [codebook_dim] * n_codebooks if isinstance(codebook_dim, int) else list(codebook_dim)
        self.n_codebooks, self.codebook_size = n_codebooks, codebook_size
        self.quantizers = nn.ModuleList([VectorQuantize(input_dim, codebook_size, d) for d in dims])

    def encode(self, z: torch.Tensor, n_quantizers: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent ``[B, D, F]`` -> (quantised latent ``[B, D, F]``, codes ``[B, n_quantizers, F]``)."""
        residual, z_q, codes = z, torch.zeros_like(z), []
        for quantizer in self.quantizers[:n_quantizers]:
            idx = quantizer.encode(residual)
            part = quantizer.decode(idx)
            z_q = z_q + part
            residual = residual - part
            codes.append(idx)
        return z_q, torch.stack(codes, dim=1)

    def from_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, K, F]`` -> quantised latent ``[B, D, F]``."""
        out = self.quantizers[0].decode(codes[:, 0])
        for k in range(1, codes.shape[1]):
            out = out + self.quantizers[k].decode(codes[:, k])
        return out


class DAC(nn.Module):
    """Encoder, quantizer and decoder of one configuration.

    Args:
        config: hyper-parameters (a :data:`PRESETS` entry or a checkpoint's metadata).
    """

    def __init__(self, config: DACConfig) -> None:
        super().__init__()
        self.config = config
        self.hop = config.hop
        self.sample_rate = config.sample_rate
        self.encoder = Encoder(config.encoder_dim, config.encoder_rates, config.latent)
        self.quantizer = ResidualVectorQuantize(
            config.latent, config.n_codebooks, config.codebook_size, config.codebook_dim
        )
        self.decoder = Decoder(config.latent, config.decoder_dim, config.decoder_rates)

    @property
    def bits_per_codebook(self) -> float:
        return math.log2(self.config.codebook_size)

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """Zero-pad ``[B, 1, T]`` on the right to a multiple of the hop."""
        return F.pad(x, (0, -x.shape[-1] % self.hop))

    def encode(self, x: torch.Tensor, n_quantizers: int) -> torch.Tensor:
        """Waveform ``[B, 1, T]`` -> codes ``[B, n_quantizers, ceil(T / hop)]``."""
        if not 1 <= n_quantizers <= self.config.n_codebooks:
            raise ValueError(f"{n_quantizers} codebooks requested; the model has 1..{self.config.n_codebooks}")
        return self.quantizer.encode(self.encoder(self.pad(x)), n_quantizers)[1]

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, K, F]`` -> waveform ``[B, 1, F * hop]``."""
        return self.decoder(self.quantizer.from_codes(codes))

    def forward(self, x: torch.Tensor, n_quantizers: int) -> torch.Tensor:
        """Code and decode ``[B, 1, T]`` -> ``[B, 1, T]``."""
        return self.decode(self.encode(x, n_quantizers))[..., : x.shape[-1]]
