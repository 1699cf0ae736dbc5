"""Waveform and phase similarity: SI-SDR, SNR and an STFT phase distance.

These see phase; magnitude-only metrics (metrics/spectral.py) do not. They are meaningless unless the
signals are time-aligned, which the runner ensures (each system compensates its delay, then the runner
estimates and removes any residual lag).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metrics.base import Metric, MetricError, MetricSpec
from metrics.dsp import stft_blocks

#: identical signals have infinite SI-SDR/SNR; values are capped here (documented in the spec)
DB_CAP = 100.0


def _dot(x: np.ndarray, y: np.ndarray) -> float:
    # numpy's pairwise sum, not BLAS: BLAS splits the sum over threads, so the last digits would depend
    # on the thread count (cores, executor); this does not
    return float(np.sum(x * y))


def _energy(x: np.ndarray) -> float:
    return _dot(x, x)


class SiSdr(Metric):
    spec = MetricSpec("si_sdr", True, 48000, unit="dB",
                      description=f"Scale-invariant SDR (zero-mean), 48 kHz; capped at {DB_CAP:g} dB (identical)")

    def compute(self, *, reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> float:
        r = reference.astype(np.float64) - reference.mean()
        d = degraded.astype(np.float64) - degraded.mean()
        er = _energy(r)
        if er == 0:
            raise MetricError("reference is silent: SI-SDR undefined")
        target = (_dot(d, r) / er) * r
        noise = d - target
        en, et = _energy(noise), _energy(target)
        if et == 0:
            raise MetricError("output is orthogonal to the reference (or silent): SI-SDR is -inf")
        if en == 0:
            return DB_CAP
        return float(min(DB_CAP, 10 * np.log10(et / en)))


class Snr(Metric):
    spec = MetricSpec("snr", True, 48000, unit="dB",
                      description=f"Signal-to-noise ratio of the waveform, 48 kHz; capped at {DB_CAP:g} dB")

    def compute(self, *, reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> float:
        r = reference.astype(np.float64)
        er, en = _energy(r), _energy(r - degraded.astype(np.float64))
        if er == 0:
            raise MetricError("reference is silent: SNR undefined")
        if en == 0:
            return DB_CAP
        return float(min(DB_CAP, 10 * np.log10(er / en)))


class PhaseDistance(Metric):
    """Magnitude-weighted mean |wrapped phase difference| (radians) over STFT bins within 40 dB of the
    reference frame's maximum; frames more than 60 dB below the loudest frame are skipped.

    A silent or near-silent output has no phase to compare: when the output's energy in the scored
    (loud) reference frames is more than ``silent_db`` (60 dB) below the reference's, the item fails with
    a MetricError (reason stored, NaN score) instead of scoring the arbitrary angle of (signed) zeros or
    of rounding noise. Scored bins where the output is exactly zero count as chance, pi/2.
    """

    spec = MetricSpec("phase_distance", False, 48000, unit="rad",
                      description="Magnitude-weighted mean absolute wrapped STFT phase difference (bins "
                                  "within 40 dB of the frame maximum), 48 kHz; a silent output (>60 dB "
                                  "below the reference) fails the item, zero bins count pi/2")
    n_fft, hop, range_db, floor_db, silent_db = 1024, 256, 40.0, 60.0, 60.0

    def compute(self, *, reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> float:
        # per frame: its maximum, both energies and the weighted sums over its bins; the loud-frame test
        # needs the loudest frame of the whole signal, so it is applied after the block-by-block pass
        frame_max, e_ref_f, e_out_f, num, den = [], [], [], [], []
        for R, D in zip(stft_blocks(reference, self.n_fft, self.hop), stft_blocks(degraded, self.n_fft, self.hop)):
            mag = np.abs(R)
            fmax = mag.max(axis=0)
            w = mag * ((mag >= fmax[None, :] * 10 ** (-self.range_db / 20)) & (mag > 0))
            # an exactly-zero output bin has no phase: count it as chance, not as the angle of a signed zero
            diff = np.where(D == 0, np.pi / 2, np.abs(np.angle(D * np.conj(R))))
            frame_max.append(fmax)
            e_ref_f.append(np.sum(mag**2, axis=0))
            e_out_f.append(np.sum(np.abs(D) ** 2, axis=0))
            num.append(np.sum(w * diff, axis=0))
            den.append(np.sum(w, axis=0))
        fmax_all = np.concatenate(frame_max)
        if not np.any(fmax_all > 0):
            raise MetricError("reference is silent: phase distance undefined")
        loud = fmax_all >= fmax_all.max() * 10 ** (-self.floor_db / 20)
        e_ref = float(np.concatenate(e_ref_f)[loud].sum())
        e_out = float(np.concatenate(e_out_f)[loud].sum())
        if e_out <= e_ref * 10 ** (-self.silent_db / 10):
            level = "silent" if e_out == 0 else f"{10 * np.log10(e_out / e_ref):.0f} dB below the reference"
            raise MetricError(f"output is silent or near-silent ({level}): phase distance undefined")
        return float(np.concatenate(num)[loud].sum() / np.concatenate(den)[loud].sum())

    def settings(self) -> dict[str, Any]:
        return {"n_fft": self.n_fft, "hop": self.hop, "range_db": self.range_db, "frame_floor_db": self.floor_db,
                "silent_output_db": self.silent_db, "zero_bin": "pi/2"}
