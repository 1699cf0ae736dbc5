"""Signal preparation for listening tests: excerpts cut at quiet points, raised-cosine fades and
loudness matching (ITU-R BS.1770 via pyloudnorm) with a peak guard.
"""

from __future__ import annotations

import math

import numpy as np

FADE_S = 0.005
FRAME_S = 0.010
#: pyloudnorm's gating block is 400 ms; shorter signals fall back to RMS (dBFS) as loudness proxy
MIN_LOUDNESS_S = 0.4


def raised_cosine(n: int) -> np.ndarray:
    """Rising half-cosine ramp ``[n]`` from 0 to 1 (exclusive ends)."""
    return (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float64)


def apply_fades(x: np.ndarray, sample_rate: int, fade_s: float = FADE_S) -> np.ndarray:
    """Fade ``[T]`` in and out over ``fade_s`` with raised-cosine ramps (returns a copy)."""
    y = np.asarray(x, dtype=np.float64).copy()
    n = min(round(fade_s * sample_rate), len(y) // 2)
    if n > 0:
        ramp = raised_cosine(n)
        y[:n] *= ramp
        y[-n:] *= ramp[::-1]
    return y


def _frame_energy(x: np.ndarray, hop: int) -> np.ndarray:
    n = len(x) // hop
    frames = x[: n * hop].reshape(n, hop)
    return (frames.astype(np.float64) ** 2).mean(axis=1)


def choose_excerpt(reference: np.ndarray, sample_rate: int, max_seconds: float) -> tuple[int, int]:
    """Start and end sample of an excerpt of at most ``max_seconds`` ending at a quiet point.

    The start skips leading silence (keeping 50 ms before the first frame within 40 dB of the peak
    frame); the end is the quietest 10 ms frame in the last 40% of the allowed window, so words are not
    cut in half. Signals that already fit are trimmed only of leading silence.

    Args:
        reference: ``[T]`` the reference signal (all conditions are time-aligned with it).
    """
    hop = max(1, int(FRAME_S * sample_rate))
    energy = _frame_energy(reference, hop)
    if len(energy) == 0 or energy.max() <= 0:
        return 0, min(len(reference), int(max_seconds * sample_rate))
    loud = np.nonzero(energy > energy.max() * 1e-4)[0]
    start = max(0, int(loud[0]) * hop - int(0.05 * sample_rate))
    limit = int(max_seconds * sample_rate)
    if len(reference) - start <= limit:
        return start, len(reference)
    lo = (start + int(0.6 * limit)) // hop
    hi = (start + limit) // hop
    window = energy[lo:hi]
    end = (lo + int(np.argmin(window))) * hop + hop // 2 if len(window) else start + limit
    return start, min(end, start + limit)


def loudness(x: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS (BS.1770); RMS in dBFS (-0.691 offset) for signals under 400 ms."""
    if len(x) / sample_rate >= MIN_LOUDNESS_S:
        import pyloudnorm

        value = float(pyloudnorm.Meter(sample_rate).integrated_loudness(np.asarray(x, dtype=np.float64)))
        if math.isfinite(value):
            return value
    rms = float(np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2)))
    return 20 * math.log10(rms) - 0.691 if rms > 0 else float("-inf")


def match_loudness(
    signals: dict[str, np.ndarray], sample_rate: int, target_lufs: float, peak_dbfs: float = -1.0
) -> tuple[dict[str, np.ndarray], dict[str, float], dict[str, float]]:
    """Scale every signal to the same loudness; lower the common target if any peak would pass ``peak_dbfs``.

    Args:
        signals: name -> ``[T]`` signal.
    Returns:
        (scaled signals, measured loudness per name before scaling, applied gain in dB per name).
    Raises:
        ValueError: a silent signal (its loudness cannot be matched); the message names it.
    """
    measured = {name: loudness(x, sample_rate) for name, x in signals.items()}
    for name, value in measured.items():
        if not math.isfinite(value):
            raise ValueError(f"{name}: signal is silent, its loudness cannot be matched")
    target = target_lufs
    for name, x in signals.items():
        peak = float(np.max(np.abs(x)))
        peak_after = 20 * math.log10(peak) + (target - measured[name]) if peak > 0 else -math.inf
        if peak_after > peak_dbfs:
            target -= peak_after - peak_dbfs
    gains = {name: target - measured[name] for name in signals}
    scaled = {name: np.asarray(x, dtype=np.float64) * 10 ** (gains[name] / 20) for name, x in signals.items()}
    return scaled, measured, gains
