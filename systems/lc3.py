"""LC3, the Bluetooth LE Audio codec (Google's liblc3 through ``lc3py``), delay-compensated to the input length.

``lc3`` runs at 48 kHz (or ``sample_rate=16000|24000|32000``) with 10 ms frames and a constant frame size:
``lc3@32k`` spends 40 bytes per frame. The codec's algorithmic delay (``lc3_delay_samples``) is removed and
the tail flushed with zeros, so the output has exactly the input's length. At low bitrates the decoded
speech also leads by about half a sample (a phase effect of the low-rate tools; none from ~96 kbps), which
liblc3 does not report: like Opus's (systems/opus.py), it is measured once per bitrate and rate on the
shipped demo speech (median cross-correlation peak, 0.1 sample) and removed with the same windowed-sinc
fractional delay. Bits are counted from the frame bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from systems.base import RunSettings, System, SystemOutput
from systems.delay import (
    CALIBRATION_UTTERANCES,
    MAX_RESIDUAL,
    SINC_HALF,
    measure_residual,
    read_at,
    remembered,
)
from systems.options import option

FRAME_US = 10_000
INSTALL_HINT = "liblc3 was not found: pip install lc3py (it ships Google's liblc3)"


def _lc3():
    import lc3  # lc3py: ctypes bindings and the shared library

    return lc3


def lc3_version() -> str | None:
    """``"lc3py 1.1.3"`` or None when lc3py (or its liblc3) cannot be loaded."""
    try:
        from importlib.metadata import version

        _lc3().Encoder(FRAME_US, 48000)
        return f"lc3py {version('lc3py')}"
    except Exception:  # noqa: BLE001 - any failure to load the library means "not available"
        return None


@dataclass(frozen=True)
class LC3Options:
    """``lc3@32k``, ``lc3[kbps=32]``, ``lc3@24k[sample_rate=16000]``."""

    kbps: float = option(32.0, unit="kbps", min=16, max=320,
                         help="target bitrate; frames are kbps*10/8 bytes, so it is met in 0.8 kbps steps")
    sample_rate: int = option(48000, unit="Hz", choices=(16000, 24000, 32000, 48000),
                              help="the rate the codec runs at (the runner resamples at its boundary)")


class LC3(System):
    """liblc3 at 48 kHz, 10 ms frames, constant frame size; delay removed and the tail flushed."""

    kind = "lc3"
    isolated = True  # liblc3 in C: a crash costs one utterance
    description = "LC3 (liblc3), 48 kHz, 10 ms frames"
    nominal_kbps = 32.0
    Options = LC3Options
    shorthand = "kbps"

    def __init__(self, settings: RunSettings, name: str | None = None, options: LC3Options | None = None) -> None:
        super().__init__(settings, name, options)
        self.sample_rate = self.options.sample_rate
        enc = _lc3().Encoder(FRAME_US, self.sample_rate)
        self.frame_bytes = int(enc.get_frame_bytes(round(self.options.kbps * 1000)))
        self.frame_samples = int(enc.get_frame_samples())
        self.delay = int(enc.get_delay_samples())
        self.nominal_kbps = self.frame_bytes * 8 / (FRAME_US / 1e6) / 1000
        self.description = (f"LC3 {self.nominal_kbps:g} kbps (liblc3, {self.sample_rate / 1000:g} kHz, 10 ms frames, "
                            f"{self.frame_bytes} B/frame)")

    @classmethod
    def unavailable_reason(cls, settings: RunSettings) -> str | None:
        return None if lc3_version() else INSTALL_HINT

    def process(self, audio: np.ndarray, *, utterance_id: str) -> SystemOutput:
        residual = residual_delay(self.frame_bytes, self.sample_rate)
        stream, frames = self._code(audio, margin=SINC_HALF + MAX_RESIDUAL + 1)
        y = read_at(stream, self.delay + residual, len(audio))
        bits = float(frames * self.frame_bytes * 8)
        info: dict[str, Any] = {"delay_samples": self.delay, "residual_delay_samples": residual, "frames": frames,
                                "frame_bytes": self.frame_bytes, "stream_kbps": self.nominal_kbps}
        return SystemOutput(audio=y.astype(np.float32), bits=bits, info=info)

    def _code(self, audio: np.ndarray, margin: int = 0) -> tuple[np.ndarray, int]:
        """Encode and decode ``[T]`` with trailing zeros that flush the codec's delay line (plus ``margin``).
        Returns (the decoded stream ``[T']``, frames coded)."""
        lc3 = _lc3()
        enc, dec = lc3.Encoder(FRAME_US, self.sample_rate), lc3.Decoder(FRAME_US, self.sample_rate)
        n, frame = len(audio), self.frame_samples
        total = int(np.ceil((n + self.delay + margin) / frame)) * frame
        x = np.zeros(total, dtype=np.float32)
        x[:n] = np.clip(audio, -1.0, 1.0)
        decoded = [np.asarray(dec.decode(enc.encode(x[i:i + frame], self.frame_bytes)), dtype=np.float32)
                   for i in range(0, total, frame)]
        return np.concatenate(decoded), total // frame

    def provenance(self) -> dict[str, Any]:
        return {"library": lc3_version(), "frame_ms": FRAME_US / 1000, "frame_bytes": self.frame_bytes,
                "bitrate": int(self.nominal_kbps * 1000), "delay_samples": self.delay, "sample_rate": self.sample_rate,
                "residual_delay_samples": residual_delay(self.frame_bytes, self.sample_rate),
                "residual_delay_measured_on": list(CALIBRATION_UTTERANCES)}


@lru_cache(maxsize=64)
def residual_delay(frame_bytes: int, sample_rate: int) -> float:
    """The delay (samples, + = late) left after removing ``lc3_delay_samples``, for one frame size and rate:
    the median over the calibration utterances of the cross-correlation peak's lag, rounded to 0.1 sample."""
    kbps = frame_bytes * 8 / (FRAME_US / 1e6) / 1000
    codec = LC3(RunSettings(), options=LC3Options(kbps=kbps, sample_rate=sample_rate))
    return remembered(f"lc3 | {lc3_version()} | {frame_bytes} bytes | {sample_rate} Hz",
                      lambda: measure_residual(lambda x: codec._code(x)[0][codec.delay:], sample_rate))
