"""Training losses: log-mel L1 (metric), least-squares adversarial, and feature matching."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from systems.audiodec.config import MelLossParams


def _hz_to_mel(f: float) -> float:
    return 2595.0 * math.log10(1.0 + f / 700.0)


def mel_filterbank(n_fft: int, n_mels: int, sample_rate: int, fmin: float, fmax: float) -> torch.Tensor:
    """Triangular HTK-scale filters with area normalisation: ``[n_mels, n_fft // 2 + 1]``."""
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    mels = torch.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2, dtype=torch.float64)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    lower, centre, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (freqs[None] - lower) / (centre - lower)
    down = (upper - freqs[None]) / (upper - centre)
    fb = torch.clamp(torch.minimum(up, down), min=0.0)
    fb = fb * (2.0 / (upper - lower))
    return fb.float()


class MelLoss(nn.Module):
    """Mean absolute difference of log-mel spectrograms (one resolution per ``fft_sizes`` entry).

    Args:
        params: the config's ``mel_loss_params``.
    """

    def __init__(self, params: MelLossParams) -> None:
        super().__init__()
        if params.window != "hann_window":
            raise ValueError(f"mel_loss_params.window: only hann_window is supported (got {params.window})")
        self.resolutions = list(zip(params.fft_sizes, params.hop_sizes, params.win_lengths))
        fmax = params.fmax if params.fmax is not None else params.fs / 2
        for i, (n_fft, _, win) in enumerate(self.resolutions):
            self.register_buffer(
                f"fb{i}", mel_filterbank(n_fft, params.num_mels, params.fs, params.fmin, fmax)
            )
            self.register_buffer(f"win{i}", torch.hann_window(win), persistent=False)
        self.log_base = params.log_base

    def log_mel(self, x: torch.Tensor, i: int) -> torch.Tensor:
        """``[B, 1, T]`` -> ``[B, n_mels, frames]`` log-mel magnitudes."""
        n_fft, hop, win = self.resolutions[i]
        spec = torch.stft(
            x.squeeze(1),
            n_fft,
            hop_length=hop,
            win_length=win,
            window=getattr(self, f"win{i}"),
            center=True,
            return_complex=True,
        )
        mag = spec.abs().clamp(min=1e-7)
        mel = torch.matmul(getattr(self, f"fb{i}"), mag).clamp(min=1e-7)
        logm = torch.log(mel)
        return logm / math.log(self.log_base) if self.log_base else logm

    def forward(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean over resolutions of L1(log-mel(y_hat), log-mel(y)); inputs ``[B, 1, T]``."""
        total = y.new_zeros(())
        for i in range(len(self.resolutions)):
            total = total + F.l1_loss(self.log_mel(y_hat, i), self.log_mel(y, i))
        return total / len(self.resolutions)


def generator_adversarial_loss(fake_outputs: list[list[torch.Tensor]]) -> torch.Tensor:
    """Least-squares: sum over discriminators of mean((1 - D(G(z)))^2)."""
    return sum(((1.0 - feats[-1]) ** 2).mean() for feats in fake_outputs)  # type: ignore[return-value]


def discriminator_loss(
    real_outputs: list[list[torch.Tensor]], fake_outputs: list[list[torch.Tensor]]
) -> torch.Tensor:
    """Least-squares: sum over discriminators of mean((1 - D(x))^2) + mean(D(G(z))^2)."""
    total = real_outputs[0][-1].new_zeros(())
    for real, fake in zip(real_outputs, fake_outputs):
        total = total + ((1.0 - real[-1]) ** 2).mean() + (fake[-1] ** 2).mean()
    return total


def feature_matching_loss(
    fake_outputs: list[list[torch.Tensor]], real_outputs: list[list[torch.Tensor]]
) -> torch.Tensor:
    """Sum of L1 distances between intermediate discriminator features (final outputs excluded)."""
    total = fake_outputs[0][-1].new_zeros(())
    for fake, real in zip(fake_outputs, real_outputs):
        for f, r in zip(fake[:-1], real[:-1]):
            total = total + F.l1_loss(f, r.detach())
    return total
