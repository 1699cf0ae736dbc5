"""The MUSHRA low-pass anchors of ITU-R BS.1534-3, zero-phase so they stay time-aligned.

Mask for the 3.5 kHz anchor: passband ripple within +-0.1 dB up to 3.5 kHz, >= 25 dB attenuation at
4 kHz, >= 50 dB from 4.5 kHz. The 7 kHz anchor uses the same mask scaled by 2. We meet it with a
linear-phase Kaiser-windowed FIR (odd length) applied centred, i.e. with its delay removed exactly:
the result is zero-phase.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar

import numpy as np

from systems.base import System, SystemOutput

#: stop-band attenuation the design aims for (the mask needs 50 dB; the margin absorbs windowing)
DESIGN_ATTENUATION_DB = 70.0


def stopband_hz(passband_hz: float) -> float:
    """Where an anchor's transition band ends (the mask's 25 dB point): 8/7 of the passband edge."""
    return passband_hz * 8.0 / 7.0


@lru_cache(maxsize=8)
def anchor_taps(passband_hz: float, sample_rate: int = 48000) -> np.ndarray:
    """FIR taps ``[N]`` (N odd) for an anchor with passband edge ``passband_hz``.

    The transition band runs from the passband edge to the 25 dB point (8/7 of the edge), so the
    response is >= 25 dB down at 4 kHz (for 3.5 kHz) and far below -50 dB at 4.5 kHz.
    """
    stop_hz = stopband_hz(passband_hz)
    width = (stop_hz - passband_hz) / (sample_rate / 2)
    from scipy import signal  # imported on use: `bench systems` does not pay for scipy.signal

    numtaps, beta = signal.kaiserord(DESIGN_ATTENUATION_DB, width)
    numtaps |= 1  # odd length: integer delay, removable exactly
    cutoff = (passband_hz + stop_hz) / 2
    return signal.firwin(numtaps, cutoff, window=("kaiser", beta), fs=sample_rate).astype(np.float64)


def lowpass_zero_phase(x: np.ndarray, passband_hz: float, sample_rate: int = 48000) -> np.ndarray:
    """Filter ``[T]`` with :func:`anchor_taps` and remove its delay: same length, zero phase."""
    taps = anchor_taps(passband_hz, sample_rate)
    from scipy import signal

    y = signal.fftconvolve(x.astype(np.float64), taps, mode="same")
    return y.astype(np.float32)


class _Anchor(System):
    """A low-pass anchor at the evaluation rate when its transition band fits below that rate's Nyquist
    frequency (3.5 kHz from 8 kHz, 7 kHz from 16 kHz), else at 48 kHz."""

    libraries = ("scipy",)
    passband_hz: ClassVar[float] = 0.0

    def use_rate(self, rate: int) -> None:
        if stopband_hz(self.passband_hz) <= rate / 2:
            self.sample_rate = int(rate)

    def process(self, audio: np.ndarray, *, utterance_id: str) -> SystemOutput:
        return SystemOutput(audio=lowpass_zero_phase(audio, self.passband_hz, self.sample_rate), bits=None,
                            info={"passband_hz": self.passband_hz})

    def provenance(self) -> dict[str, Any]:
        taps = anchor_taps(self.passband_hz, self.sample_rate)
        return {"filter": "linear-phase Kaiser FIR, delay removed (zero phase)", "taps": len(taps),
                "passband_hz": self.passband_hz, "design_attenuation_db": DESIGN_ATTENUATION_DB}


class Anchor35(_Anchor):
    """BS.1534-3 low anchor: 3.5 kHz low-pass."""

    kind = "anchor35"
    description = "MUSHRA low anchor: 3.5 kHz low-pass (BS.1534-3 mask, zero phase)"
    passband_hz = 3500.0


class Anchor70(_Anchor):
    """BS.1534-3 mid anchor: 7 kHz low-pass."""

    kind = "anchor70"
    description = "MUSHRA mid anchor: 7 kHz low-pass (BS.1534-3 mask scaled, zero phase)"
    passband_hz = 7000.0
