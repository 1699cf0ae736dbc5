"""Opus through the system libopus (opuslib ctypes bindings), delay-compensated to the input length.

Delay: libopus reports its encoder look-ahead (``OPUS_GET_LOOKAHEAD``: 2.5 ms + 4 ms at 48 kHz, 312
samples; 120 in restricted-low-delay). That is exact for CELT-only packets. SILK-only and hybrid packets
go through SILK's resamplers (48 kHz -> 8/12/16 kHz in the encoder and back in the decoder), whose delay
libopus only approximately equalises with the look-ahead: with libopus 1.3.1 speech comes out about
2.1 samples early in hybrid packets (24 kbps ``audio``), 2.6 in ``voip`` (whose 2nd-order high-pass adds
phase lead), and about 3 samples late in 8 kHz SILK (6 kbps). libopus reports none of this, so
:func:`residual_delay` measures it once per libopus version, application and bitrate: it codes speech
shipped with the suite (the ten demo utterances, 2 voices) with the same settings and takes the median of
their sub-sample lags (cross-correlation peak, parabolic interpolation), rounded to 0.1 sample (its
precision). SILK's resamplers are not linear-phase, so single utterances scatter around it (about +-0.3
sample in hybrid packets, up to +-1 in 8 kHz SILK at 6 kbps, more with ``voip``'s pitch-adaptive high-pass). The output is
then read that far later (or earlier) with a windowed-sinc fractional delay, so a 0.0 (CELT-only) keeps
the exact integer path.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar, Literal

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

FRAME_MS = 20
INSTALL_HINT = (
    "libopus was not found: install it (Debian/Ubuntu: apt-get install libopus0; macOS: brew install opus) "
    "and the Python bindings (pip install opuslib)"
)


def _opuslib():
    import opuslib  # raises if the shared library is missing

    return opuslib


def libopus_version() -> str | None:
    """``"libopus 1.3.1"`` or None when libopus is missing."""
    try:
        return _opuslib().api.info.get_version_string().decode()
    except Exception:  # noqa: BLE001 - opuslib raises a bare Exception when libopus is missing
        return None


@dataclass(frozen=True)
class OpusOptions:
    """``opus@12k``, ``opus[kbps=12,application=voip]``."""

    kbps: float = option(24.0, unit="kbps", min=6, max=510, help="target bitrate (VBR)")
    application: Literal["audio", "voip", "lowdelay"] = option("audio", help="libopus application mode")


class Opus(System):
    """libopus, 20 ms frames, VBR, complexity 10; look-ahead removed and tail flushed (output = input length).

    The achieved bitrate is counted from the real packet bytes.
    """

    kind = "opus"
    description = "Opus (libopus), 20 ms frames, VBR, complexity 10"
    libraries = ("opuslib",)
    isolated = True  # libopus in C: a crash costs one utterance
    nominal_kbps = 24.0
    Options = OpusOptions
    shorthand = "kbps"
    APPLICATIONS: ClassVar[dict[str, str]] = {"audio": "APPLICATION_AUDIO", "voip": "APPLICATION_VOIP",
                    "lowdelay": "APPLICATION_RESTRICTED_LOWDELAY"}

    def __init__(self, settings: RunSettings, name: str | None = None, options: OpusOptions | None = None) -> None:
        super().__init__(settings, name, options)
        self.bitrate = round(self.options.kbps * 1000)
        self.nominal_kbps = self.options.kbps
        self.description = (f"Opus {self.nominal_kbps:g} kbps (libopus, {self.options.application}, "
                            f"20 ms, VBR, complexity 10)")

    @classmethod
    def unavailable_reason(cls, settings: RunSettings) -> str | None:
        return None if libopus_version() else INSTALL_HINT

    def _encoder(self):
        opuslib = _opuslib()
        enc = opuslib.Encoder(self.sample_rate, 1, getattr(opuslib, self.APPLICATIONS[self.options.application]))
        enc.bitrate = self.bitrate
        enc.vbr = 1
        enc.complexity = 10
        return enc

    def process(self, audio: np.ndarray, *, utterance_id: str) -> SystemOutput:
        residual = residual_delay(libopus_version() or "", self.options.application, self.bitrate)
        stream, lookahead, packet_bytes, n_packets = self._code(audio, margin=SINC_HALF + MAX_RESIDUAL + 1)
        y = read_at(stream, lookahead + residual, len(audio)).astype(np.float32)
        info: dict[str, Any] = {
            "lookahead_samples": lookahead,
            "residual_delay_samples": residual,
            "packets": n_packets,
            "packet_bytes": packet_bytes,
            "stream_kbps": packet_bytes * 8 / (n_packets * FRAME_MS / 1000) / 1000,
        }
        return SystemOutput(audio=y, bits=float(packet_bytes * 8), info=info)

    def _code(self, audio: np.ndarray, margin: int = 0) -> tuple[np.ndarray, int, int, int]:
        """Encode and decode ``audio`` ``[T]`` with trailing zeros so that the look-ahead part of the last
        samples (plus ``margin``) is flushed out. Returns (decoded stream ``[T']``, look-ahead, bytes, packets)."""
        opuslib = _opuslib()
        enc = self._encoder()
        dec = opuslib.Decoder(self.sample_rate, 1)
        lookahead = int(enc.lookahead)
        frame = self.sample_rate * FRAME_MS // 1000
        n = len(audio)
        total = int(np.ceil((n + lookahead + margin) / frame)) * frame
        x = np.zeros(total, dtype=np.float32)
        x[:n] = np.clip(audio, -1.0, 1.0)
        packet_bytes = 0
        decoded = []
        for start in range(0, total, frame):
            packet = enc.encode_float(x[start:start + frame].tobytes(), frame)
            packet_bytes += len(packet)
            pcm = dec.decode_float(packet, frame)
            decoded.append(np.frombuffer(pcm, dtype=np.float32))
        return np.concatenate(decoded), lookahead, packet_bytes, total // frame

    def library_versions(self) -> dict[str, str | None]:
        return {**super().library_versions(), "libopus": libopus_version()}

    def provenance(self) -> dict[str, Any]:
        return {
            "libopus": libopus_version(),
            "bitrate": self.bitrate,
            "application": self.options.application,
            "frame_ms": FRAME_MS,
            "vbr": True,
            "complexity": 10,
            "lookahead_samples": int(self._encoder().lookahead),
            "residual_delay_samples": residual_delay(libopus_version() or "", self.options.application,
                                                     self.bitrate),
            "residual_delay_measured_on": list(CALIBRATION_UTTERANCES),
        }


@lru_cache(maxsize=64)
def residual_delay(version: str, application: str, bitrate: int) -> float:
    """The delay (samples at 48 kHz, + = late) left after removing the look-ahead, for one libopus version,
    application and bitrate: the median over CALIBRATION_UTTERANCES of the cross-correlation peak's lag,
    rounded to 0.1 sample."""
    codec = Opus(RunSettings(), options=OpusOptions(kbps=bitrate / 1000, application=application))

    def code(x: np.ndarray) -> np.ndarray:
        stream, lookahead, _, _ = codec._code(x)
        return stream[lookahead:]

    return remembered(f"opus | {version} | {application} | {bitrate} bit/s",
                      lambda: measure_residual(code, codec.sample_rate))
