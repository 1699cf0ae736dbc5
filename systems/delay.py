"""Sub-sample delay of classical codecs: measured once on shipped speech, removed with a fractional delay.

Opus (systems/opus.py) and LC3 (systems/lc3.py) report an integer algorithmic delay, which they remove; the
decoded speech is still a fraction of a sample (up to a few samples) early or late. :func:`measure_residual`
codes the calibration speech (the ten demo utterances, 2 voices) with one setting and returns the median of
the per-utterance lags (cross-correlation peak, parabolic interpolation), rounded to 0.1 sample, its
precision; :func:`read_at` then reads the output that far later or earlier with a windowed sinc.

A measurement takes seconds (it codes the ten utterances); :func:`remembered` keeps each one, by a key that
names the codec, its library version and settings, in a JSON file the runner points it to (the run
folder's ``codec_delays.json``, see :func:`keep_measurements_in`), so a rerun does not measure again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

#: shipped speech the residual delays are measured on: the demo corpus, 2 voices
CALIBRATION_UTTERANCES = tuple(f"demo_{g}_{i:03d}" for g in "fm" for i in range(1, 6))
#: half-length of the windowed-sinc fractional-delay filter, and the largest residual searched
SINC_HALF, MAX_RESIDUAL = 32, 16
#: changes when the measurement changes: part of every key of :func:`remembered`
METHOD = "median xcorr peak over 10 demo utterances, 0.1 sample"

_store: Path | None = None


def keep_measurements_in(path: Path | None) -> None:
    """Remember measured residuals in the JSON file ``path`` (None: only in this process)."""
    global _store
    _store = path


def remembered(key: str, measure: Callable[[], float]) -> float:
    """The residual stored under ``key`` (codec, library version, settings), else ``measure()``, stored."""
    from bench.atomic import write_text_atomic

    key = f"{key} | {METHOD}"
    known: dict[str, float] = {}
    if _store is not None and _store.is_file():
        try:
            known = json.loads(_store.read_text())
        except ValueError:
            known = {}  # a damaged file is measured again and rewritten
        if isinstance(known.get(key), (int, float)):
            return float(known[key])
    value = measure()
    if _store is not None:
        write_text_atomic(_store, json.dumps({**known, key: value}, indent=1, sort_keys=True))
    return value


def read_at(x: np.ndarray, offset: float, n: int) -> np.ndarray:
    """``y[m] = x(offset + m)`` for m < n, band-limited (Kaiser-windowed sinc, 2*SINC_HALF+1 taps) when
    ``offset`` is fractional; ``x`` ``[T]`` must hold SINC_HALF samples either side. Returns ``[n]`` float64."""
    k = int(np.floor(offset))
    frac = offset - k
    if frac == 0:
        return x[k:k + n].astype(np.float64)
    t = np.arange(-SINC_HALF, SINC_HALF + 1) - frac
    h = np.sinc(t) * np.kaiser(2 * SINC_HALF + 1, 8.0)
    h /= h.sum()
    seg = x[k - SINC_HALF:k + n + SINC_HALF].astype(np.float64)
    # y[m] = sum_t x[k + m + t] h[t]: a correlation, i.e. a convolution with the reversed taps
    return np.convolve(seg, h[::-1], mode="valid")[:n]


def cross_correlation(reference: np.ndarray, output: np.ndarray, max_lag: int = MAX_RESIDUAL) -> np.ndarray:
    """``c[k + max_lag] = sum_n output[n + k] * reference[n]`` for ``|k| <= max_lag``; inputs ``[T]``."""
    n = len(reference)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    c = np.fft.irfft(np.fft.rfft(output, size) * np.conj(np.fft.rfft(reference, size)), size)
    return np.concatenate([c[-max_lag:], c[:max_lag + 1]])


def peak_lag(c: np.ndarray) -> float:
    """Sub-sample position (+ = output late) of the maximum of ``cross_correlation``, by a parabola."""
    max_lag = (len(c) - 1) // 2
    k = int(np.clip(np.argmax(c), 1, len(c) - 2))
    a, b, d = c[k - 1], c[k], c[k + 1]
    curvature = a - 2 * b + d
    return float(k - max_lag + (0.5 * (a - d) / curvature if curvature < 0 else 0.0))


def measure_residual(code: Callable[[np.ndarray], np.ndarray], sample_rate: int) -> float:
    """The delay (samples at ``sample_rate``, + = late) a codec leaves after removing its reported one.

    Args:
        code: ``x [T] float32 -> y [>= T]``, the decoded output with the reported delay already removed.
        sample_rate: the rate the codec runs at (the calibration speech is resampled to it).
    Returns:
        the median over CALIBRATION_UTTERANCES of the cross-correlation peak's lag, rounded to 0.1 sample.
    """
    from bench.audio import resample
    from bench.corpora import DEMO_DIR

    lags = []
    for utt in CALIBRATION_UTTERANCES:
        x, sr = sf.read(DEMO_DIR / f"{utt}.flac", dtype="float32")
        x = resample(x, sr, sample_rate) if sr != sample_rate else x
        y = code(x)
        lags.append(peak_lag(cross_correlation(x.astype(np.float64), y[:len(x)].astype(np.float64))))
    return round(float(np.median(lags)), 1) + 0.0  # no -0.0
