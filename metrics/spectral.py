"""Magnitude-only spectral distances: log-spectral distance, multi-resolution mel distance, MCD."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.fft import dct

from metrics.base import Metric, MetricError, MetricSpec
from metrics.dsp import mel_filterbank, stft

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
    """MCD in dB from mel-frequency cepstra (80-band log mel amplitude floored 80 dB below the
    reference's peak, DCT-II, c1..c24), over frames within 40 dB of the loudest reference frame;
    no time warping (the signals are aligned)."""

    spec = MetricSpec("mcd", False, 48000, unit="dB",
                      description="Mel-cepstral distortion (MFCC c1-c24, aligned, no DTW), 48 kHz",
                      min_eval_rate=44100)
    n_fft, hop, n_mels, n_ceps, range_db, floor_db = 2048, 480, 80, 24, 40.0, 80.0

    def compute(self, *, reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> float:
        fb = mel_filterbank(sample_rate, self.n_fft, self.n_mels)
        pr = fb @ (np.abs(stft(reference.astype(np.float64), self.n_fft, self.hop)) ** 2)
        pd = fb @ (np.abs(stft(degraded.astype(np.float64), self.n_fft, self.hop)) ** 2)
        energy = pr.sum(axis=0)
        if not np.any(energy > 0):
            raise MetricError("reference is silent: MCD undefined")
        keep = energy >= energy.max() * 10 ** (-self.range_db / 10)
        # both spectra share one floor, floor_db below the reference's strongest band, so empty bands
        # (band-limited input, anchors) do not dominate the distance
        floor = pr.max() * 10 ** (-self.floor_db / 10)
        # cepstra of the log amplitude (0.5 ln power), as in the usual MCD definition
        cr = dct(0.5 * np.log(np.maximum(pr[:, keep], floor)), type=2, norm="ortho", axis=0)[1:self.n_ceps + 1]
        cd = dct(0.5 * np.log(np.maximum(pd[:, keep], floor)), type=2, norm="ortho", axis=0)[1:self.n_ceps + 1]
        k = 10.0 / np.log(10.0)
        return float(k * np.mean(np.sqrt(2.0 * np.sum((cr - cd) ** 2, axis=0))))

    def settings(self) -> dict[str, Any]:
        return {"n_fft": self.n_fft, "hop": self.hop, "n_mels": self.n_mels, "n_ceps": self.n_ceps,
                "frames_within_db": self.range_db,
                "floor_db": self.floor_db}
