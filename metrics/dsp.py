"""Small DSP helpers for our own metrics: STFT magnitude/phase and a mel filterbank."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import numpy as np

#: STFT frames per block: long inputs are transformed block by block, so memory does not grow with length
BLOCK_FRAMES = 1024


def stft(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Complex STFT ``[F, N]`` (F = n_fft/2 + 1) with a periodic Hann window, frames fully inside ``x``.

    Signals shorter than one window are zero-padded to one frame. Computed in float64.
    """
    return np.concatenate(list(stft_blocks(x, n_fft, hop)), axis=1)


def stft_blocks(x: np.ndarray, n_fft: int, hop: int, block_frames: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
    """The frames of :func:`stft` as consecutive blocks ``[F, <= block_frames]`` (float64 complex).

    A 10-minute 48 kHz signal needs about 20 MB per block instead of gigabytes for the whole transform.
    """
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    n_frames = 1 + (len(x) - n_fft) // hop
    window = np.hanning(n_fft + 1)[:-1]
    offsets = np.arange(n_fft)[None, :]
    for start in range(0, n_frames, block_frames):
        frames = np.arange(start, min(start + block_frames, n_frames))
        idx = offsets + hop * frames[:, None]
        yield np.fft.rfft(x[idx].astype(np.float64) * window, axis=1).T


@lru_cache(maxsize=16)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
    """Triangular mel filters ``[n_mels, n_fft/2 + 1]`` (HTK mel scale, area-normalised)."""
    fmax = fmax or sample_rate / 2

    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(np.array(fmin)), hz_to_mel(np.array(fmax)), n_mels + 2))
    fb = np.zeros((n_mels, len(freqs)))
    for m in range(n_mels):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        up = (freqs - lo) / max(mid - lo, 1e-9)
        down = (hi - freqs) / max(hi - mid, 1e-9)
        fb[m] = np.maximum(0.0, np.minimum(up, down)) * (2.0 / max(hi - lo, 1e-9))
    return fb


@lru_cache(maxsize=8)
def _freqt_matrix(n_in: int, order: int, alpha: float) -> np.ndarray:
    """The linear map ``[order+1, n_in]`` from a cepstrum ``c(0..n_in-1)`` to the cepstrum of the same
    log spectrum on the frequency axis warped by the first-order all-pass ``(z^-1 - alpha)/(1 - alpha z^-1)``.

    It is the recursion of Oppenheim & Johnson (1972) ("Discrete representation of signals"), the one
    SPTK's ``freqt`` runs, applied to every unit vector at once.
    """
    b = 1.0 - alpha * alpha
    g = np.zeros((order + 1, n_in))
    unit = np.eye(n_in)
    for i in range(n_in - 1, -1, -1):
        d = g.copy()
        g[0] = unit[i] + alpha * d[0]
        if order >= 1:
            g[1] = b * d[0] + alpha * d[1]
        for j in range(2, order + 1):
            g[j] = d[j - 1] + alpha * (d[j] - g[j - 1])
    return g


def mel_cepstrum(power: np.ndarray, order: int, alpha: float) -> np.ndarray:
    """Mel-cepstra ``[order+1, N]`` of power spectra ``[F, N]`` (F = n_fft/2 + 1, strictly positive).

    SPTK's convention: ``log |H(e^jw)| = sum_m c(m) cos(m b(w))`` with ``b`` the all-pass-warped frequency,
    i.e. the real cepstrum of the log power spectrum (``c(0)`` halved) warped by ``freqt``.
    """
    n_fft = 2 * (power.shape[0] - 1)
    c = np.fft.irfft(np.log(power), n=n_fft, axis=0)[: n_fft // 2 + 1]
    c[0] *= 0.5
    return _freqt_matrix(c.shape[0], order, float(alpha)) @ c
