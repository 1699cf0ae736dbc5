"""Log-magnitude spectrograms: grids per utterance (reference + every system) and small thumbnails."""

from __future__ import annotations

from pathlib import Path
from typing import Self

import numpy as np

from bench.atomic import atomic_path
from reports.display import system_names
from reports.figures import new_figure, plt, save
from reports.rundata import Run, read_audio

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


def grid_entries(run: Run, utt: str, systems: list[str]) -> list[tuple[str, Path]]:
    """The rows of a spectrogram grid: (display name, audio path), the reference first and once (a system whose
    audio is the reference file itself, the ``reference`` row of the no-reference metrics, is not repeated)."""
    ref_path = run.reference_path(utt)
    names = system_names(run, systems)
    return [("Reference", ref_path), *[(names[s], run.audio_path(s, utt)) for s in systems
                                       if run.audio_path(s, utt) != ref_path]]


def spectrogram_grid(run: Run, utt: str, systems: list[str], stem: Path,
                     formats: tuple[str, ...] = ("png", "pdf")) -> list[Path]:
    """Reference and each system's spectrogram of one utterance (:func:`grid_entries`), one row each, on a
    shared colour scale (the reference's loudest bin at the top, 80 dB range)."""
    entries = grid_entries(run, utt, systems)
    fig, axes = new_figure(6.0, 1.15 * len(entries) + 0.4, nrows=len(entries), sharex=True)
    vmax = None
    image = None
    for ax, (name, path) in zip(axes[:, 0], entries):
        audio = read_audio(path)
        ax.set_ylabel(f"{name}\nkHz", fontsize=7)
        if audio is None:
            ax.text(0.5, 0.5, f"{name}: no audio ({path.name} missing)", transform=ax.transAxes, ha="center",
                    va="center", color="firebrick")
            ax.set_yticks([])
            continue
        x, sr = audio
        s = log_spectrogram(x, sr)
        vmax = vmax if vmax is not None else float(s.max())
        image = ax.imshow(s, origin="lower", aspect="auto", cmap="magma", vmin=vmax - RANGE_DB, vmax=vmax,
                          extent=(0.0, x.size / sr, 0.0, sr / 2000), interpolation="nearest", rasterized=True)
    axes[-1, 0].set_xlabel("time [s]")
    axes[0, 0].set_title(f"{utt}: log-magnitude spectrograms")
    if image is not None:
        fig.colorbar(image, ax=axes[:, 0].tolist(), label="dB", shrink=0.6, pad=0.02)
    return save(fig, stem, formats)


class Thumbnails:
    """Small spectrogram PNGs with time (s) and frequency (kHz) axes, drawn on one reused figure (fast).

    Each image spans 80 dB below ``vmax`` (default: its own loudest bin), so thumbnails drawn with one
    ``vmax`` can be compared by colour. Use as a context manager (closes the figure)."""

    def __init__(self, size: tuple[float, float] = (3.2, 1.5), dpi: int = 200) -> None:
        self.dpi = dpi
        self.fig, axes = new_figure(*size)
        self.ax = axes[0, 0]
        self.image = self.ax.imshow(np.zeros((2, 2)), origin="lower", aspect="auto", cmap="magma",
                                    interpolation="nearest")
        self.ax.set_xlabel("time [s]", labelpad=1, fontsize=6)
        self.ax.set_ylabel("kHz", labelpad=1, fontsize=6)
        self.ax.tick_params(length=2, pad=1, labelsize=6)
        self.fig.subplots_adjust(left=0.11, right=0.96, bottom=0.2, top=0.97)

    def draw(self, x: np.ndarray, sample_rate: int, path: Path, *, vmax: float | None = None) -> Path:
        """Write the thumbnail of ``[T]`` audio to ``path`` (atomically)."""
        s = log_spectrogram(x, sample_rate)
        top = float(s.max()) if vmax is None else vmax
        extent = (0.0, x.size / sample_rate, 0.0, sample_rate / 2000)
        self.image.set_data(s)
        self.image.set_extent(extent)
        self.image.set_clim(top - RANGE_DB, top)
        self.ax.set_xlim(extent[0], extent[1])
        self.ax.set_ylim(extent[2], extent[3])
        with atomic_path(path) as tmp:
            self.fig.savefig(tmp, dpi=self.dpi, format="png")
        return path

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        plt.close(self.fig)


__all__ = ["Thumbnails", "grid_entries", "log_spectrogram", "spectrogram_grid"]
