"""The suite's one alignment policy: how an output is put in time with its reference before scoring.

Every system compensates its own known delay; what is left is found here, by cross-correlation within a
bounded window (``--max-lag-ms``), and compensated according to ``--align``:

- ``system`` (default): one lag per system, the peak of the cross-correlation summed over all its
  utterances (a codec has one delay, not one per file). The peak is taken in absolute value, so a
  polarity-inverted output finds its true delay; its sign and strength are recorded and flagged.
- ``utterance``: one lag per utterance, the highest positive correlation peak (can land on pitch side
  lobes for outputs that do not track the waveform).
- ``none``: nothing is shifted anywhere, the ``files:`` adapter included (it then only crops or pads at
  the end).

Outputs produced elsewhere (``files:``) may still hold a codec's delay, so their length differs from the
reference; :func:`match_length` resolves differences up to :data:`MAX_LENGTH_DIFF_S` with the same search
in a window widened by the difference. The runner stores, per item, the total lag compensated
(``lag_samples``), and SI-SDR, SNR and phase distance also unaligned (``bench.runfolder.results.RAW_METRICS``).

This module is the arithmetic only (ground floor: numpy, scipy and :mod:`bench.audio`): every function
works on the arrays it is given, in samples at their rate. A run's system-level search over its files is
:mod:`bench.alignment_stage`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.fft

from bench.audio import SAMPLE_RATE, fit_length

ALIGN_MODES = ("system", "utterance", "none")
#: a system whose normalised correlation peak is below this in absolute value is flagged "weak"
#: (|rho| = 0.3 is an SI-SDR of about -10 dB: the waveform hardly tracks the reference)
WEAK_PEAK = 0.3
#: largest length difference an adapter resolves by search (a codec's delay left in the file)
MAX_LENGTH_DIFF_S = 0.5
#: the system search runs on signals decimated by this factor, then at the full rate within FINE_RADIUS
#: samples of the coarse peak: the same peak as a full-rate correlation for speech, at a fraction of the cost
DECIMATION = 8
FINE_RADIUS = 10


@dataclass(frozen=True)
class AlignPolicy:
    """What ``--align`` and ``--max-lag-ms`` asked for.

    Attributes:
        mode: one of :data:`ALIGN_MODES`.
        max_lag_ms: half-width of the residual-lag search window.
        sample_rate: the evaluation rate the signals are at.
    """

    mode: str = "system"
    max_lag_ms: float = 20.0
    #: the run's evaluation rate (``--sample-rate``): the rate of the signals the lags are in
    sample_rate: int = SAMPLE_RATE

    def __post_init__(self) -> None:
        if self.mode not in ALIGN_MODES:
            raise ValueError(f"align mode {self.mode!r}: expected one of {', '.join(ALIGN_MODES)}")
        if not (self.max_lag_ms >= 0 and np.isfinite(self.max_lag_ms)):
            raise ValueError(f"max_lag_ms must be a finite number >= 0, not {self.max_lag_ms}")

    @property
    def max_lag(self) -> int:
        """The search window in samples at the evaluation rate."""
        return self.window(self.sample_rate)

    def window(self, rate: int) -> int:
        """The search window in samples at ``rate`` (the rate of the signals being aligned)."""
        return round(self.max_lag_ms * rate / 1000)


@dataclass
class Correlation:
    """Cross-correlation of degraded against reference over lags ``-L..L``, with the energies that normalise it.

    Attributes:
        values: ``[2L+1]`` float64, ``values[k]`` = sum_n degraded[n] * reference[n - (k - L)].
        ref_energy, deg_energy: sum of squares of the overlapping reference and degraded samples.
    """

    values: np.ndarray
    ref_energy: float
    deg_energy: float

    @property
    def max_lag(self) -> int:
        return (len(self.values) - 1) // 2

    def __add__(self, other: Correlation) -> Correlation:
        if len(self.values) != len(other.values):
            raise ValueError("cannot add correlations over different lag windows")
        return Correlation(self.values + other.values, self.ref_energy + other.ref_energy,
                           self.deg_energy + other.deg_energy)

    def normalised(self, lag: int) -> float:
        """The correlation coefficient at ``lag`` (in [-1, 1]; 0 when either side is silent)."""
        norm = float(np.sqrt(self.ref_energy * self.deg_energy))
        return float(self.values[lag + self.max_lag] / norm) if norm > 0 else 0.0


def correlate(reference: np.ndarray, degraded: np.ndarray, max_lag: int) -> Correlation:
    """Cross-correlation by FFT of ``[T]`` signals over lags ``[-max_lag, max_lag]``.

    Positive lag: the degraded signal is late (``degraded[n] ~ reference[n - lag]``).
    """
    n = min(len(reference), len(degraded))
    max_lag = max(0, int(max_lag))
    # single precision halves the FFT cost; the window is summed in float64
    r = reference[:n].astype(np.float32, copy=False)
    d = degraded[:n].astype(np.float32, copy=False)
    energies = (float(np.dot(r, r)), float(np.dot(d, d)))
    if n == 0 or not energies[0] or not energies[1]:
        return Correlation(np.zeros(2 * max_lag + 1), *energies)
    # n + max_lag points suffice: circular wrap-around only reaches lags beyond the window
    size = scipy.fft.next_fast_len(n + max_lag, real=True)
    xc = scipy.fft.irfft(scipy.fft.rfft(d, size) * np.conj(scipy.fft.rfft(r, size)), size)
    lags = np.arange(-max_lag, max_lag + 1)
    return Correlation(xc[lags % size].astype(np.float64), *energies)


def estimate_lag(reference: np.ndarray, degraded: np.ndarray, max_lag: int) -> int:
    """Per-utterance lag: the highest positive correlation peak in ``[-max_lag, max_lag]`` (0 for silence)."""
    c = correlate(reference, degraded, max_lag)
    if not np.any(c.values):
        return 0
    return int(np.argmax(c.values)) - c.max_lag


def shift(x: np.ndarray, lag: int) -> np.ndarray:
    """Undo a lag: ``y[n] = x[n + lag]``, zero-filled, same length ``[T]``."""
    if lag == 0:
        return x
    y = np.zeros_like(x)
    if abs(lag) >= len(x):
        return y
    if lag > 0:
        y[: len(x) - lag] = x[lag:]
    else:
        y[-lag:] = x[: len(x) + lag]
    return y


@dataclass(frozen=True)
class SystemLag:
    """One system's alignment (``alignment/<sysdir>.json`` in the run folder, ``alignment`` in run.json).

    Attributes:
        mode: the ``--align`` mode it serves.
        lag: the lag compensated for every utterance in ``system`` mode (samples at the signals' rate); in
            ``utterance`` mode the lag ``system`` mode would have used (for comparison).
        peak: normalised correlation at that lag, signed (in [-1, 1]).
        n: utterances summed; max_lag: search window (samples); utterances_sha256: which utterances.
    """

    mode: str
    lag: int
    peak: float
    n: int
    max_lag: int
    utterances_sha256: str

    @property
    def flag(self) -> str:
        """"negative", "weak" or "" (fine): whether waveform metrics of this system mean much."""
        return flag_for(self.peak)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "flag": self.flag, "weak_below": WEAK_PEAK}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SystemLag:
        return cls(str(d["mode"]), int(d["lag"]), float(d["peak"]), int(d["n"]), int(d["max_lag"]),
                   str(d["utterances_sha256"]))


def flag_for(peak: float) -> str:
    """Classify a normalised correlation peak: "weak" (|peak| < WEAK_PEAK, either sign), "negative" or ""."""
    if abs(peak) < WEAK_PEAK:
        return "weak"
    return "negative" if peak < 0 else ""


def coarse_correlation(reference: np.ndarray, degraded: np.ndarray, max_lag: int) -> Correlation:
    """:func:`correlate` of the signals decimated by :data:`DECIMATION` (sums of blocks), lags in blocks.

    The lowest eighth of the band (below 3 kHz at 48 kHz), where speech has most of its energy, decides where
    the peak is, with an 8x shorter transform. Energies are those of the full-rate signals (they normalise
    the fine values).
    """
    n = min(len(reference), len(degraded))
    r_full, d_full = reference[:n].astype(np.float32, copy=False), degraded[:n].astype(np.float32, copy=False)
    m = n // DECIMATION
    r = sum(r_full[k::DECIMATION][:m] for k in range(DECIMATION))  # strided adds: 10x faster than reshape-sum
    d = sum(d_full[k::DECIMATION][:m] for k in range(DECIMATION))
    c = correlate(r, d, -(-max_lag // DECIMATION))
    return Correlation(c.values, float(np.dot(r_full, r_full)), float(np.dot(d_full, d_full)))


def fine_correlation(reference: np.ndarray, degraded: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """The full-rate correlation at a few ``lags`` (``[K]`` float64), by direct single-precision dot products."""
    n = min(len(reference), len(degraded))
    r, d = reference[:n].astype(np.float32, copy=False), degraded[:n].astype(np.float32, copy=False)
    out = np.zeros(len(lags))
    for i, lag in enumerate(int(v) for v in lags):
        if abs(lag) < n:
            out[i] = float(np.dot(d[lag:], r[: n - lag]) if lag >= 0 else np.dot(d[: n + lag], r[-lag:]))
    return out


def _sum_in_id_order(parts: dict[str, Any]) -> Any:
    ids = sorted(parts)
    total = parts[ids[0]]
    for uid in ids[1:]:
        total = total + parts[uid]
    return total


def fine_lags(coarse: dict[str, Correlation], max_lag: int) -> np.ndarray:
    """The full-rate lags to examine: around the peak (in absolute value) of the summed coarse correlation."""
    total = _sum_in_id_order(coarse)
    centre = DECIMATION * (int(np.argmax(np.abs(total.values))) - total.max_lag)
    return np.arange(max(-max_lag, centre - FINE_RADIUS), min(max_lag, centre + FINE_RADIUS) + 1)


def system_lag(coarse: dict[str, Correlation], fine: dict[str, np.ndarray], lags: np.ndarray, mode: str,
               max_lag: int) -> SystemLag:
    """One lag from all of a system's utterances, sums taken in id order (deterministic).

    Args:
        coarse: utterance -> :func:`coarse_correlation`; fine: utterance -> :func:`fine_correlation` at
            ``lags`` (from :func:`fine_lags`). The peak is taken in absolute value; ``peak`` keeps its sign.
    """
    ids = sorted(coarse)
    if not ids or sorted(fine) != ids:
        raise ValueError("the coarse and fine correlations must cover the same utterances")
    energy = _sum_in_id_order(coarse)
    values = _sum_in_id_order(fine)
    k = int(np.argmax(np.abs(values)))
    norm = float(np.sqrt(energy.ref_energy * energy.deg_energy))
    peak = float(values[k] / norm) if norm > 0 else 0.0
    digest = hashlib.sha256(json.dumps(ids).encode()).hexdigest()
    return SystemLag(mode, int(lags[k]), round(peak, 6), len(ids), max_lag, digest)


def align_arrays(pairs: dict[str, tuple[np.ndarray, np.ndarray]], max_lag: int, mode: str = "system") -> SystemLag:
    """:func:`system_lag` of in-memory ``utterance -> (reference, output)`` pairs (what the runner does with files)."""
    coarse = {u: coarse_correlation(r, d, max_lag) for u, (r, d) in pairs.items()}
    lags = fine_lags(coarse, max_lag)
    return system_lag(coarse, {u: fine_correlation(r, d, lags) for u, (r, d) in pairs.items()}, lags, mode, max_lag)


def match_length(reference: np.ndarray, output: np.ndarray, policy: AlignPolicy,
                 rate: int) -> tuple[np.ndarray, int]:
    """Bring an output made elsewhere to the reference length: ``([T_ref]`` output, offset removed).

    Under ``none``: crop or zero-pad at the end (offset 0). Otherwise, when the lengths differ, the offset
    is found by the same correlation search, in the policy's window (at ``rate``, the rate of both
    signals) widened by the length difference.

    Raises:
        ValueError: lengths differ by more than :data:`MAX_LENGTH_DIFF_S`.
    """
    diff = len(output) - len(reference)
    if abs(diff) > MAX_LENGTH_DIFF_S * rate:
        raise ValueError(f"length {len(output) / rate:.3f} s differs from the reference "
                         f"{len(reference) / rate:.3f} s by more than {MAX_LENGTH_DIFF_S} s")
    if diff == 0 or policy.mode == "none":
        return fit_length(output, len(reference)), 0
    longest = max(len(output), len(reference))
    y, ref = fit_length(output, longest), fit_length(reference, longest)
    c = correlate(ref, y, abs(diff) + policy.window(rate))
    offset = int(np.argmax(np.abs(c.values))) - c.max_lag if np.any(c.values) else 0
    return fit_length(shift(y, offset), len(reference)), offset


