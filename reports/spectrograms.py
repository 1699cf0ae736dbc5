"""Log-magnitude spectrograms: grids per utterance (reference + every system) and small thumbnails."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reports.figures import new_figure, plt, save
from reports.rundata import Run, audio_rate, read_audio

FLOOR_DB = -100.0
RANGE_DB = 80.0


def log_spectrogram(x: np.ndarray, sample_rate: int, window_ms: float = 32.0, hop_ms: float = 8.0) -> np.ndarray:
    """Hann-window STFT magnitude in dB (full scale), ``[F, N]`` with F = nfft/2+1 bins.

    Args:
        x: ``[T]`` waveform.
    """
    n = int(sample_rate * window_ms * 1e-3)
    hop = int(sample_rate * hop_ms * 1e-3)
    if x.size < n:
        x = np.pad(x, (0, n - x.size))
    count = 1 + (x.size - n) // hop
    idx = np.arange(n)[None, :] + hop * np.arange(count)[:, None]
    win = np.hanning(n)
    spec = np.abs(np.fft.rfft(x[idx] * win[None, :], axis=1)) / (win.sum() / 2)
    return (20 * np.log10(np.maximum(spec, 10 ** (FLOOR_DB / 20)))).T


def spectrogram_grid(run: Run, utt: str, systems: list[str], stem: Path) -> list[Path]:
    """Reference and each system's spectrogram of one utterance, one row each, on a shared colour scale."""
    ref_path = run.reference_path(utt)
    sr = audio_rate(ref_path) if ref_path.is_file() else 48000
    entries = [("reference", ref_path), *[(s, run.audio_path(s, utt)) for s in systems]]
    fig, axes = new_figure(6.0, 1.15 * len(entries) + 0.4, nrows=len(entries), sharex=True)
    vmax = None
    image = None
    for ax, (name, path) in zip(axes[:, 0], entries):
        x = read_audio(path)
        ax.set_ylabel(f"{name}\nkHz", fontsize=7)
        if x is None:
            ax.text(0.5, 0.5, f"{name}: no audio ({path.name} missing)", transform=ax.transAxes, ha="center",
                    va="center", color="firebrick")
            ax.set_yticks([])
            continue
        s = log_spectrogram(x, sr)
        vmax = vmax if vmax is not None else float(s.max())
        image = ax.imshow(s, origin="lower", aspect="auto", cmap="magma", vmin=vmax - RANGE_DB, vmax=vmax,
                          extent=(0.0, x.size / sr, 0.0, sr / 2000), interpolation="nearest", rasterized=True)
    axes[-1, 0].set_xlabel("time [s]")
    axes[0, 0].set_title(f"{utt}: log-magnitude spectrograms")
    if image is not None:
        fig.colorbar(image, ax=axes[:, 0].tolist(), label="dB", shrink=0.6, pad=0.02)
    return save(fig, stem)


def thumbnail(x: np.ndarray, sample_rate: int, path: Path, height: int = 64, width: int = 160) -> Path:
    """A small PNG spectrogram (no axes) of ``[T]`` audio, ``height`` x ``width`` pixels, low frequencies at the bottom."""
    s = log_spectrogram(x, sample_rate)
    vmax = float(s.max())
    s = np.clip((s - (vmax - RANGE_DB)) / RANGE_DB, 0.0, 1.0)[::-1]
    rows = np.linspace(0, s.shape[0] - 1, height).astype(int)
    cols = np.linspace(0, s.shape[1] - 1, width).astype(int)
    path.parent.mkdir(parents=True, exist_ok=True)
    plt.imsave(path, s[np.ix_(rows, cols)], cmap="magma", vmin=0.0, vmax=1.0)
    return path


__all__ = ["log_spectrogram", "spectrogram_grid", "thumbnail"]
