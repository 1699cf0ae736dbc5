"""Magnitude-only spectral distances: log-spectral distance, multi-resolution mel distance, MCD."""

from __future__ import annotations

from typing import Any

import numpy as np

from metrics.base import Metric, MetricError, MetricSpec
from metrics.dsp import mel_cepstrum, mel_filterbank, stft

EPS = 1e-10


class LogSpectralDistance(Metric):
    """Mean over frames of the RMS difference of log10 power spectra (the bandwidth-extension convention)."""

    spec = MetricSpec("lsd", False, 48000, unit="",
                      description="Log-spectral distance (log10 power, 2048/512 STFT), 48 kHz",
                      min_eval_rate=44100)
    n_fft, hop = 2048, 512

    def compute(self, *, reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> float:
        pr = np.abs(stft(reference.astype(np.float64), self.n_fft, self.hop)) ** 2
        pd = np.abs(stft(degraded.astype(np.float64), self.n_fft, self.hop)) ** 2
        if not np.any(pr):
            raise MetricError("reference is silent: LSD undefined")
        diff = np.log10(pr + EPS) - np.log10(pd + EPS)
        return float(np.mean(np.sqrt(np.mean(diff**2, axis=0))))

    def settings(self) -> dict[str, Any]:
        return {"n_fft": self.n_fft, "hop": self.hop, "log": "log10 power", "eps": EPS}


class MelDistance(Metric):
    """Mean absolute difference of log10 mel spectrograms, averaged over three resolutions."""

    spec = MetricSpec("mel_distance", False, 48000, unit="",
                      description="Multi-resolution log-mel distance (512/1024/2048, 80 mels), 48 kHz",
                      min_eval_rate=44100)
    resolutions = ((512, 128), (1024, 256), (2048, 512))
    n_mels = 80

    def compute(self, *, reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> float:
        if not np.any(reference):
            raise MetricError("reference is silent: mel distance undefined")
        dists = []
        for n_fft, hop in self.resolutions:
            fb = mel_filterbank(sample_rate, n_fft, self.n_mels)
            mr = fb @ np.abs(stft(reference.astype(np.float64), n_fft, hop))
            md = fb @ np.abs(stft(degraded.astype(np.float64), n_fft, hop))
            dists.append(np.mean(np.abs(np.log10(mr + 1e-5) - np.log10(md + 1e-5))))
        return float(np.mean(dists))

    def settings(self) -> dict[str, Any]:
        return {"resolutions": [list(r) for r in self.resolutions], "n_mels": self.n_mels}


class MelCepstralDistortion(Metric):
    """Mel-cepstral distortion in dB, the Kubichek / SPTK definition papers report:
    ``10/ln(10) * sqrt(2 * sum_{m=1..24} (c_ref(m) - c_out(m))^2)`` averaged over frames.

    Mel-cepstra of order 24 (c0, the frame energy, excluded) with all-pass warping alpha = 0.554 (SPTK's
    mel-scale match at 48 kHz), computed from 2048-point periodograms (periodic Hann, 5 ms hop) as SPTK's
    ``sp2mc`` does (real cepstrum of the log power spectrum, ``freqt``). Both spectra are floored 80 dB below
    the reference's strongest bin, and only frames within 40 dB of the loudest reference frame count. No
    time warping: the pair is time-aligned. Identical to pysptk's ``sp2mc`` on the same frames to 1e-9.
    """

    spec = MetricSpec("mcd", False, 48000, unit="dB",
                      description="Mel-cepstral distortion (SPTK sp2mc mel-cepstrum c1-c24, alpha 0.554, "
                                  "2048-pt Hann periodogram, 5 ms hop, frames within 40 dB, aligned, no DTW), "
                                  "48 kHz", min_eval_rate=44100)
    n_fft, hop, order, alpha, range_db, floor_db = 2048, 240, 24, 0.554, 40.0, 80.0

    def compute(self, *, reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> float:
        pr = np.abs(stft(reference.astype(np.float64), self.n_fft, self.hop)) ** 2
        pd = np.abs(stft(degraded.astype(np.float64), self.n_fft, self.hop)) ** 2
        energy = pr.sum(axis=0)
        if not np.any(energy > 0):
            raise MetricError("reference is silent: MCD undefined")
        keep = energy >= energy.max() * 10 ** (-self.range_db / 10)
        # one floor for both, floor_db below the reference's strongest bin: empty bands (band-limited
        # outputs, anchors) and spectral zeros stay finite and do not dominate the distance
        floor = pr.max() * 10 ** (-self.floor_db / 10)
        cr = mel_cepstrum(np.maximum(pr[:, keep], floor), self.order, self.alpha)
        cd = mel_cepstrum(np.maximum(pd[:, keep], floor), self.order, self.alpha)
        return float(mcd_db(cr, cd))

    def settings(self) -> dict[str, Any]:
        return {"n_fft": self.n_fft, "window": "periodic hann", "hop": self.hop, "order": self.order,
                "alpha": self.alpha, "coefficients": "c1..c24 (c0 excluded)", "dtw": False,
                "frames_within_db": self.range_db, "floor_db": self.floor_db}


def mcd_db(c_ref: np.ndarray, c_out: np.ndarray) -> float:
    """Mean over frames of ``10/ln(10) * sqrt(2 * sum_{m>=1} diff(m)^2)``; cepstra ``[order+1, N]``."""
    diff = c_ref[1:] - c_out[1:]
    return float(np.mean(10.0 / np.log(10.0) * np.sqrt(2.0 * np.sum(diff**2, axis=0))))
