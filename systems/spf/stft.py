"""The compressed complex STFT the SPF works in, with its exact inverse."""

from __future__ import annotations

import torch

from systems.spf.config import STFTConfig


def make_window(kind: str, n_fft: int) -> torch.Tensor:
    """Periodic analysis window ``[n_fft]``."""
    if kind == "hann":
        return torch.hann_window(n_fft, periodic=True)
    if kind == "sqrthann":
        return torch.hann_window(n_fft, periodic=True).sqrt()
    raise ValueError(f"STFT window {kind!r} unknown; use 'hann' or 'sqrthann'")


class CompressedSTFT:
    """``wave [B, T] -> spec [B, 1, F, N]`` complex, with magnitude compression ``beta |c|^alpha``.

    Args:
        cfg: transform settings (n_fft, hop, window, alpha, beta, frame_multiple).
    """

    def __init__(self, cfg: STFTConfig) -> None:
        if cfg.n_fft <= 0 or cfg.hop <= 0 or cfg.hop > cfg.n_fft:
            raise ValueError(f"STFT: need 0 < hop <= n_fft, got n_fft={cfg.n_fft} hop={cfg.hop}")
        if cfg.alpha <= 0 or cfg.beta <= 0:
            raise ValueError(f"STFT: alpha and beta must be > 0, got {cfg.alpha}, {cfg.beta}")
        self.cfg = cfg
        self._window = make_window(cfg.window, cfg.n_fft)

    @property
    def n_bins(self) -> int:
        """Frequency bins F = n_fft // 2 + 1."""
        return self.cfg.n_fft // 2 + 1

    def num_frames(self, n_samples: int) -> int:
        """Frames of a centered STFT of ``n_samples``."""
        return n_samples // self.cfg.hop + 1

    def _win(self, like: torch.Tensor) -> torch.Tensor:
        if self._window.device != like.device:
            self._window = self._window.to(like.device)
        return self._window

    def compress(self, spec: torch.Tensor) -> torch.Tensor:
        """``beta * |c|^alpha * exp(i angle c)`` elementwise."""
        if self.cfg.alpha == 1.0:
            return spec * self.cfg.beta
        mag = spec.abs()
        return self.cfg.beta * torch.polar(mag.pow(self.cfg.alpha), spec.angle())

    def decompress(self, spec: torch.Tensor) -> torch.Tensor:
        """Exact inverse of :meth:`compress`."""
        spec = spec / self.cfg.beta
        if self.cfg.alpha == 1.0:
            return spec
        return torch.polar(spec.abs().pow(1.0 / self.cfg.alpha), spec.angle())

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """``[B, T]`` real -> ``[B, 1, F, N]`` compressed complex spectrogram."""
        spec = torch.stft(
            wave, self.cfg.n_fft, self.cfg.hop, window=self._win(wave), center=True, return_complex=True
        )
        return self.compress(spec).unsqueeze(1)

    def inverse(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """``[B, 1, F, N]`` compressed complex -> ``[B, length]`` real."""
        raw = self.decompress(spec.squeeze(1))
        return torch.istft(raw, self.cfg.n_fft, self.cfg.hop, window=self._win(raw), center=True, length=length)

    def pad_frames(self, spec: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Zero-pad the frame axis of ``[..., F, N]`` to a multiple of ``frame_multiple``.

        Returns:
            (padded spec, original N) -- crop with ``spec[..., :N]`` after the network.
        """
        n = spec.shape[-1]
        m = self.cfg.frame_multiple
        extra = (-n) % m
        if extra:
            spec = torch.nn.functional.pad(spec, (0, extra))
        return spec, n
