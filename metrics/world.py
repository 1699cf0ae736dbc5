"""Metrics on WORLD analysis (pyworld): pitch error (``f0_rmse``, ``f0_corr``, ``vuv_error``) and ``mcd_espnet``.

One analysis serves all four, with the settings of ESPnet's evaluation scripts and VERSA's ``mcd_f0``:
the waveform scaled to 16-bit range (x 32767), a 255-tap FIR low-cut at 70 Hz (``firwin``/``lfilter``),
Harvest F0 between 40 and 800 Hz every 5 ms (0 where unvoiced), and for the MCD the CheapTrick envelope
(1024-point FFT) turned into a mel-cepstrum of order 39 with alpha 0.466 (SPTK ``sp2mc``; 0.466 is SPTK's
all-pass match for 24 kHz, the rate these metrics run at).

``mcd_espnet`` is VERSA's ``mcd_f0`` without DTW (its default): ``10/ln10 * sqrt(2 * sum_{m=0..39} diff(m)^2)``
per frame, c0 (frame energy) included, averaged over every frame of the pair, silent ones too. It is far
larger than ``mcd`` (see README: the two differ in envelope, floor, frames and c0). Harvest is unreliable on
synthetic (espeak) voices: pitch errors on the demo corpus are large even for transparent codecs.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from metrics.base import Metric, MetricError, MetricSpec
from metrics.dsp import mel_cepstrum

SAMPLE_RATE = 24000
INSTALL = "pip install pyworld"
F0_MIN, F0_MAX, FRAME_MS = 40.0, 800.0, 5.0
LOW_CUT_HZ, LOW_CUT_TAPS = 70.0, 255
MCEP_FFT, MCEP_ORDER, MCEP_ALPHA = 1024, 39, 0.466
#: Harvest needs a few pitch periods; shorter signals are refused
MIN_SECONDS = 0.1
#: analyses kept per process: the pair being scored and the reference it is compared with next
CACHE_SIZE = 4


def _pyworld():
    """The pyworld module (its ``__init__`` imports the deprecated ``pkg_resources``: that warning is muted)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import pyworld
    return pyworld


@dataclass(frozen=True)
class WorldAnalysis:
    """Harvest F0 ``[N]`` (Hz, 0 = unvoiced) with its frame times ``[N]`` and the filtered waveform (float64)."""

    f0: np.ndarray
    times: np.ndarray
    x: np.ndarray
    fs: int


_CACHE: OrderedDict[bytes, WorldAnalysis] = OrderedDict()


def low_cut(x: np.ndarray, fs: int) -> np.ndarray:
    """The 70 Hz low-cut of ESPnet/VERSA: 255-tap ``firwin`` high-pass (cutoff over ``fs // 2``), ``lfilter``."""
    from scipy.signal import firwin, lfilter

    return lfilter(firwin(LOW_CUT_TAPS, LOW_CUT_HZ / (fs // 2), pass_zero=False), 1, x)


def analyse(audio: np.ndarray, fs: int, which: str) -> WorldAnalysis:
    """Harvest F0 of ``[T]`` audio in [-1, 1] (cached per process); MetricError for silent or too short input."""
    key = hashlib.blake2b(np.ascontiguousarray(audio).tobytes(), digest_size=16).digest() + str(fs).encode()
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    if len(audio) < MIN_SECONDS * fs:
        raise MetricError(f"{which} is {len(audio) / fs:.3f} s long; WORLD analysis needs {MIN_SECONDS} s")
    if not np.any(audio):
        raise MetricError(f"{which} is silent")
    x = low_cut(np.asarray(audio, dtype=np.float64) * np.iinfo(np.int16).max, fs)
    f0, times = _pyworld().harvest(x, fs, f0_floor=F0_MIN, f0_ceil=F0_MAX, frame_period=FRAME_MS)
    out = WorldAnalysis(f0, times, x, fs)
    _CACHE[key] = out
    if len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return out


def world_mcep(a: WorldAnalysis) -> np.ndarray:
    """``[N, MCEP_ORDER + 1]`` mel-cepstra of the CheapTrick envelope (as ``pysptk.sp2mc(sp, 39, 0.466)``)."""
    envelope = _pyworld().cheaptrick(a.x, a.f0, a.times, a.fs, fft_size=MCEP_FFT)  # [N, MCEP_FFT/2 + 1] power
    return mel_cepstrum(envelope.T, MCEP_ORDER, MCEP_ALPHA).T


class _World(Metric):
    extra_libraries = ("scipy",)

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            _pyworld()
        except ImportError as exc:
            return f"pyworld cannot be imported ({exc}); install it with: {INSTALL}"
        return None

    def _pair(self, reference: np.ndarray, degraded: np.ndarray, fs: int) -> tuple[WorldAnalysis, WorldAnalysis]:
        ref, out = analyse(reference, fs, "reference"), analyse(degraded, fs, "output")
        if len(ref.f0) != len(out.f0):  # the runner gives equal lengths; guard for direct callers
            raise MetricError(f"reference and output differ in length ({len(ref.f0)} vs {len(out.f0)} frames)")
        return ref, out

    def settings(self) -> dict[str, Any]:
        return {"f0": "harvest", "f0_range_hz": [F0_MIN, F0_MAX], "frame_ms": FRAME_MS,
                "low_cut": f"{LOW_CUT_TAPS}-tap FIR at {LOW_CUT_HZ:g} Hz", "scale": "x 32767"}


class _Pitch(_World):
    #: whether the metric needs frames voiced in both signals
    on_voiced: ClassVar[bool] = True

    def compute(self, *, reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> float:
        ref, out = self._pair(reference, degraded, sample_rate)
        if not np.any(ref.f0 > 0):
            raise MetricError("no voiced frame in the reference (Harvest, 40-800 Hz)")
        both = (ref.f0 > 0) & (out.f0 > 0)
        if self.on_voiced and not np.any(both):
            raise MetricError("no frame voiced in both reference and output")
        return self.score(ref.f0, out.f0, both)

    def score(self, f0_ref: np.ndarray, f0_out: np.ndarray, both: np.ndarray) -> float:
        raise NotImplementedError


class F0Rmse(_Pitch):
    """RMS of the F0 difference (Hz) over frames voiced in both signals."""

    spec = MetricSpec("f0_rmse", False, SAMPLE_RATE, unit="Hz", library="pyworld",
                      description="F0 RMSE in Hz on frames voiced in both (WORLD Harvest 40-800 Hz, 5 ms), 24 kHz")

    def score(self, f0_ref: np.ndarray, f0_out: np.ndarray, both: np.ndarray) -> float:
        return float(np.sqrt(np.mean((f0_ref[both] - f0_out[both]) ** 2)))


class F0Corr(_Pitch):
    """Pearson correlation of F0 over frames voiced in both signals."""

    spec = MetricSpec("f0_corr", True, SAMPLE_RATE, unit="", library="pyworld",
                      description="F0 Pearson correlation on frames voiced in both (WORLD Harvest), 24 kHz")

    def score(self, f0_ref: np.ndarray, f0_out: np.ndarray, both: np.ndarray) -> float:
        a, b = f0_ref[both], f0_out[both]
        if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
            raise MetricError(f"F0 correlation undefined on {len(a)} voiced frame(s) with constant pitch")
        return float(np.corrcoef(a, b)[0, 1])


class VuvError(_Pitch):
    """Fraction of frames whose voicing decision (Harvest F0 > 0) differs between the two signals."""

    spec = MetricSpec("vuv_error", False, SAMPLE_RATE, unit="", library="pyworld",
                      description="Voiced/unvoiced error: fraction of 5 ms frames whose voicing differs "
                                  "(WORLD Harvest), 24 kHz")
    on_voiced = False

    def score(self, f0_ref: np.ndarray, f0_out: np.ndarray, both: np.ndarray) -> float:
        return float(np.mean((f0_ref > 0) != (f0_out > 0)))


class McdEspnet(_World):
    """VERSA's ``mcd_f0`` MCD (no DTW, its default) at 24 kHz; see the module docstring."""

    spec = MetricSpec("mcd_espnet", False, SAMPLE_RATE, unit="dB", library="pyworld",
                      description="Mel-cepstral distortion as ESPnet/VERSA mcd_f0 (WORLD CheapTrick, sp2mc "
                                  "c0-c39, alpha 0.466, all frames, no DTW), 24 kHz")

    def compute(self, *, reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> float:
        ref, out = self._pair(reference, degraded, sample_rate)
        diff = world_mcep(ref) - world_mcep(out)
        return float(np.mean(10.0 / np.log(10.0) * np.sqrt(2.0 * np.sum(diff**2, axis=1))))

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "envelope": f"cheaptrick, fft {MCEP_FFT}", "order": MCEP_ORDER,
                "alpha": MCEP_ALPHA, "coefficients": "c0..c39 (c0 included)", "frames": "all", "dtw": False,
                "reference_implementation": "VERSA versa/sequence_metrics/mcd_f0.py, dtw: false"}
