"""DistillMOS (non-intrusive MOS, 16 kHz) built here from the weights the ``distillmos`` wheel ships.

The package's own module imports torchaudio at import time (for its command-line file reading), and no
torchaudio release loads with the suite's torch. So the weights file is located through the import system
without running the package, and the network is rebuilt here with the package's architecture and parameter
names (loaded with ``strict=True``): a convolutional stack on the power-law compressed complex STFT, then a
7-layer transformer with attention pooling. tests/test_nonintrusive_metrics.py proves it equal to the
package's own model.

Inference: the waveform is zero-padded to 7.68 s, or cut into 7.68 s crops spread evenly with at most 1 s
between starts; each crop is peak-normalised, scored in [0, 1], averaged, and mapped to 1 + 4 q.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from metrics.base import Metric, MetricError, MetricSpec
from metrics.packaged import PackagedFileMissing, file_sha256, package_file

SAMPLE_RATE = 16000
CROP = 122880  # 7.68 s
MAX_CROP_HOP = 16000
#: crops scored in one network call: each adds ~60 MB of activations, and larger groups are no faster on CPU
CROPS_PER_BATCH = 2
WEIGHTS = "weights/distill_mos_v7.pt"
INSTALL = "pip install --no-deps distillmos==0.9.1"
STFT_WIN, STFT_HOP = 320, 160
COMPRESSION = 0.3
FEATURE_FRAMES = 384  # frames after the last conv layer (time stride 2)
CNN_CHANNELS = (64, 64, 128, 256, 256, 256)
D_MODEL, N_HEADS, N_LAYERS = 200, 8, 7


def compressed_spectrum(x: torch.Tensor) -> torch.Tensor:
    """``[B, T]`` -> ``[B, 2, 161, frames]``: real/imag STFT with magnitude compressed to ``|X|^0.3``."""
    pad = (STFT_WIN - STFT_HOP) // 2
    x = nn.functional.pad(x, (pad, pad), mode="reflect")
    spec = torch.view_as_real(torch.stft(x, n_fft=STFT_WIN, hop_length=STFT_HOP, win_length=STFT_WIN,
                                         window=torch.hann_window(STFT_WIN, device=x.device), center=False,
                                         return_complex=True))  # [B, F, frames, 2]
    magnitude = torch.clip(torch.sum(spec**2, dim=-1, keepdim=True) ** 0.5, 1e-12)
    return (magnitude**COMPRESSION * spec / magnitude).permute(0, 3, 1, 2)


class SpectrumEncoder(nn.Module):
    """Conv2d stack over (frequency, time): frequency stride 2 after the first layer, time stride 2 at the last.

    ``cnn`` is one ``nn.Sequential`` of conv/LeakyReLU pairs because the shipped parameter names
    (``cnn.cnn.0``, ``cnn.cnn.2``, ...) require it.
    """

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous, n_freq = 2, STFT_WIN // 2 + 1
        for i, channels in enumerate(CNN_CHANNELS):
            f_stride = 1 if i == 0 else 2
            t_stride = 2 if i == len(CNN_CHANNELS) - 1 else 1
            layers += [nn.Conv2d(previous, channels, (3, 3), stride=(f_stride, t_stride), padding=(0, 1)),
                       nn.LeakyReLU(0.1)]
            previous, n_freq = channels, (n_freq - 3) // f_stride + 1
        self.cnn = nn.Sequential(*layers)
        self.out_features = previous * n_freq  # 256 channels x 4 bands

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """``[B, T]`` -> ``[B, frames, out_features]``."""
        h = self.cnn(compressed_spectrum(wave))  # [B, C, F', frames]
        return h.flatten(1, 2).transpose(1, 2)


class PositionTable(nn.Module):
    """Fixed sinusoidal positions (wavelengths up to ``2 * frames``) added to ``[B, frames, D]``."""

    def __init__(self, frames: int, dim: int) -> None:
        super().__init__()
        position = torch.arange(frames).unsqueeze(1)
        rate = torch.exp(torch.arange(0, dim, 2) * (-math.log(2 * frames) / dim))
        table = torch.zeros(1, frames, dim)
        table[0, :, 0::2] = torch.sin(position * rate)
        table[0, :, 1::2] = torch.cos(position * rate)
        self.register_buffer("pe", table)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pe.expand(x.shape)


def _norm_over_channels(norm: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    """BatchNorm1d on ``[B, L, C]`` (it expects channels second)."""
    return norm(x.transpose(1, 2)).transpose(1, 2)


class SequenceEncoder(nn.Module):
    """Normalise, project to ``D_MODEL``, add positions, 7 post-norm transformer layers. ``[B, L, C] -> [B, L, D]``."""

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(in_features)
        self.position_encoding = PositionTable(FEATURE_FRAMES, D_MODEL)
        self.linear_proj = nn.Linear(in_features, D_MODEL)
        layer = nn.TransformerEncoderLayer(d_model=D_MODEL, nhead=N_HEADS, dim_feedforward=2 * D_MODEL, dropout=0.0,
                                           batch_first=True)
        self.transformer_encoder = nn.TransformerEncoder(layer, num_layers=N_LAYERS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear_proj(_norm_over_channels(self.norm, x))
        return self.transformer_encoder(self.position_encoding(x))


class AttentionPool(nn.Module):
    """Attention weights from a small MLP (``linear1``, ``linear2``), then a linear score. ``[B, L, D] -> [B, 1]``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.linear1 = nn.Linear(dim, 2 * dim)
        self.linear2 = nn.Linear(2 * dim, 1)
        self.linear3 = nn.Linear(dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(self.linear2(torch.relu(self.linear1(x))).transpose(1, 2), dim=2)  # [B, 1, L]
        return self.linear3(torch.bmm(weights, x).squeeze(1))


class QualityHead(nn.Module):
    """Features ``[B, L, C]`` -> normalised quality ``[B, 1]`` in (0, 1)."""

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.norm_input = nn.BatchNorm1d(in_features)
        self.transformer = SequenceEncoder(in_features)
        self.norm_trans = nn.BatchNorm1d(D_MODEL)
        self.pool = AttentionPool(D_MODEL)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.transformer(_norm_over_channels(self.norm_input, x))
        return torch.sigmoid(self.pool(_norm_over_channels(self.norm_trans, x)))


class DistillMos(nn.Module):
    """The DistillMOS network (variant 7). Parameter names match the shipped checkpoint."""

    def __init__(self) -> None:
        super().__init__()
        self.cnn = SpectrumEncoder()
        self.transformer_pool_attn = QualityHead(self.cnn.out_features)

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        """``[B, CROP]`` 16 kHz crops -> ``[B]`` normalised quality in (0, 1) (each crop peak-normalised)."""
        crops = crops / (crops.abs().max(dim=1, keepdim=True).values + 1e-8)
        return self.transformer_pool_attn(self.cnn(crops)).squeeze(1)

    def predict(self, wave: torch.Tensor) -> torch.Tensor:
        """``[B, T]`` 16 kHz waveforms (any length) -> ``[B]`` MOS in [1, 5]."""
        excess = wave.shape[1] - CROP
        if excess < 0:
            wave, excess = nn.functional.pad(wave, (0, -excess)), 0
        n_crops = math.ceil(excess / MAX_CROP_HOP) + 1
        starts = [int(f * excess) for f in np.linspace(0, 1, n_crops)]
        total = torch.zeros(wave.shape[0], dtype=wave.dtype, device=wave.device)
        for i in range(0, n_crops, CROPS_PER_BATCH):  # bounded memory: a 10-minute file has ~600 crops
            group = starts[i:i + CROPS_PER_BATCH]
            crops = torch.cat([wave[:, s:s + CROP] for s in group], dim=0)  # crop-major: [len(group) * B, CROP]
            total = total + self(crops).reshape(len(group), -1).sum(dim=0)
        return 1 + 4 * (total / n_crops)

    @classmethod
    def from_package(cls) -> DistillMos:
        """Load the weights shipped in the installed ``distillmos`` wheel (``strict=True``), in eval mode."""
        path = package_file("distillmos", WEIGHTS, INSTALL)
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        model = cls()
        model.load_state_dict(checkpoint["model"], strict=True)
        return model.eval()


_MODEL: DistillMos | None = None


class DistillMosMetric(Metric):
    """DistillMOS of one output; the reference is not used."""

    spec = MetricSpec("distillmos", True, SAMPLE_RATE, needs_reference=False, unit="MOS", library="distillmos",
                      description="DistillMOS predicted MOS (no reference), 16 kHz")

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            package_file("distillmos", WEIGHTS, INSTALL)
        except PackagedFileMissing as exc:
            return str(exc)
        return None

    def compute(self, *, reference: np.ndarray | None, degraded: np.ndarray, sample_rate: int) -> float:
        global _MODEL
        if len(degraded) == 0 or not np.any(degraded):
            raise MetricError("silent or empty signal")
        if _MODEL is None:
            _MODEL = DistillMos.from_package()
        with torch.inference_mode():
            return float(_MODEL.predict(torch.from_numpy(np.ascontiguousarray(degraded, dtype=np.float32))[None])[0])

    def settings(self) -> dict[str, Any]:
        return {"weights": f"distillmos/{WEIGHTS}", "sha256": file_sha256(package_file("distillmos", WEIGHTS, INSTALL)),
                "crop_s": CROP / SAMPLE_RATE, "implementation": "rebuilt here (no torchaudio)"}
