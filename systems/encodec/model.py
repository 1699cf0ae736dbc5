"""The EnCodec model (Défossez et al., 2022) for inference, and the two released configurations.

=================  ==========  ========  =======  ===============  ==========  =====================
preset             rate (Hz)   channels  causal   normalisation    codebooks   bandwidths (kbit/s)
=================  ==========  ========  =======  ===============  ==========  =====================
``encodec_24khz``  24000       1         yes      weight norm      32          1.5, 3, 6, 12, 24
``encodec_48khz``  48000       2         no       time group norm  16          3, 6, 12, 24
=================  ==========  ========  =======  ===============  ==========  =====================

The 24 kHz model codes a whole utterance at once. The 48 kHz model cuts it into 1 s segments that
overlap by 1 % (stride 0.99 s), divides each segment by its RMS (the scale travels with the codes as a
float32), and joins the decoded segments by linear cross-fade. Frames are 320 samples; every codebook
has 1024 entries (10 bits), so a frame costs ``10 * codebooks`` bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from systems.encodec.presets import PRESETS, EncodecConfig
from systems.encodec.quantizer import ResidualVectorQuantizer
from systems.encodec.seanet import SEANetDecoder, SEANetEncoder


@dataclass
class EncodedSegment:
    """Codes of one segment.

    Attributes:
        codes: ``[B, K, F]`` int64 indices.
        scale: ``[B, 1]`` RMS the segment was divided by (48 kHz model), else None.
    """

    codes: torch.Tensor
    scale: torch.Tensor | None


def overlap_add(frames: list[torch.Tensor], stride: int) -> torch.Tensor:
    """Join ``[..., L_i]`` segments placed ``stride`` apart, weighting each by a triangle peaking at its centre.

    Every output sample is the weighted mean of the segments covering it, so where two overlap the
    result cross-fades linearly from one to the other.
    """
    first = frames[0]
    total = stride * (len(frames) - 1) + frames[-1].shape[-1]
    length = first.shape[-1]
    t = torch.linspace(0, 1, length + 2, device=first.device, dtype=first.dtype)[1:-1]
    weight = 0.5 - (t - 0.5).abs()
    out = torch.zeros(*first.shape[:-1], total, device=first.device, dtype=first.dtype)
    weights = torch.zeros(total, device=first.device, dtype=first.dtype)
    for i, frame in enumerate(frames):
        n = frame.shape[-1]
        out[..., i * stride : i * stride + n] += weight[:n] * frame
        weights[i * stride : i * stride + n] += weight[:n]
    return out / weights


class EncodecModel(nn.Module):
    """Encoder, quantizer and decoder of one configuration; ``state_dict`` keys as in the released files.

    Args:
        config: a :data:`PRESETS` entry.
    """

    def __init__(self, config: EncodecConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = SEANetEncoder(config.channels, config.causal, config.norm)
        self.decoder = SEANetDecoder(config.channels, config.causal, config.norm)
        self.hop = self.encoder.hop_length
        self.frame_rate = math.ceil(config.sample_rate / self.hop)
        n_q = int(1000 * config.bandwidths[-1] // (self.frame_rate * 10))
        self.quantizer = ResidualVectorQuantizer(self.encoder.dimension, n_q, config.bins)

    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    @property
    def segment_length(self) -> int | None:
        """Samples per segment (None: the whole signal is one segment)."""
        return None if self.config.segment_s is None else int(self.config.segment_s * self.sample_rate)

    @property
    def segment_stride(self) -> int | None:
        """Samples between segment starts."""
        n = self.segment_length
        return None if n is None else max(1, int((1 - self.config.overlap) * n))

    def codebooks_for(self, bandwidth: float) -> int:
        """Codebooks used at ``bandwidth`` kbit/s (one of ``config.bandwidths``)."""
        if bandwidth not in self.config.bandwidths:
            known = ", ".join(f"{b:g}" for b in self.config.bandwidths)
            raise ValueError(f"{self.config.name} has no {bandwidth:g} kbit/s mode (known: {known})")
        per_codebook = self.quantizer.bits_per_codebook * self.frame_rate / 1000
        return max(1, math.floor(bandwidth / per_codebook))

    def segment_bounds(self, length: int) -> list[tuple[int, int]]:
        """``(start, end)`` of each segment of a ``length``-sample signal."""
        seg, stride = self.segment_length, self.segment_stride
        if seg is None or stride is None:
            return [(0, length)]
        return [(start, min(start + seg, length)) for start in range(0, length, stride)]

    def encode_segment(self, x: torch.Tensor, n_q: int) -> EncodedSegment:
        """Waveform ``[B, channels, L]`` (L at most one segment) -> codes ``[B, n_q, ceil(L / hop)]``."""
        scale = None
        if self.config.normalize:
            rms = x.mean(dim=1, keepdim=True).pow(2).mean(dim=2, keepdim=True).sqrt()
            scale = 1e-8 + rms
            x = x / scale
            scale = scale.view(-1, 1)
        return EncodedSegment(self.quantizer.encode(self.encoder(x), n_q), scale)

    def decode_segment(self, segment: EncodedSegment) -> torch.Tensor:
        """Codes -> waveform ``[B, channels, F * hop]`` (rescaled when the segment was normalised)."""
        out = self.decoder(self.quantizer.decode(segment.codes))
        if segment.scale is not None:
            out = out * segment.scale.view(-1, 1, 1)
        return out

    def encode(self, x: torch.Tensor, n_q: int) -> list[EncodedSegment]:
        """Waveform ``[B, channels, T]`` -> one :class:`EncodedSegment` per segment."""
        if x.dim() != 3 or x.shape[1] != self.config.channels:
            raise ValueError(f"expected [B, {self.config.channels}, T], got {list(x.shape)}")
        return [self.encode_segment(x[..., a:b], n_q) for a, b in self.segment_bounds(x.shape[-1])]

    def decode(self, segments: list[EncodedSegment]) -> torch.Tensor:
        """Segments -> waveform ``[B, channels, T']`` (T' >= T: crop to the input length)."""
        frames = [self.decode_segment(s) for s in segments]
        if self.segment_stride is None:
            return frames[0]
        return overlap_add(frames, self.segment_stride)

    def forward(self, x: torch.Tensor, n_q: int) -> torch.Tensor:
        """Code and decode ``[B, channels, T]`` -> ``[B, channels, T]``."""
        return self.decode(self.encode(x, n_q))[..., : x.shape[-1]]


def build_model(preset: str) -> EncodecModel:
    """An untrained model of a released configuration, in eval mode."""
    if preset not in PRESETS:
        raise ValueError(f"unknown EnCodec preset {preset!r} (known: {', '.join(PRESETS)})")
    return EncodecModel(PRESETS[preset]).eval()
