"""Opus through the system libopus (opuslib ctypes bindings), delay-compensated to the input length."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from systems.base import RunSettings, System, SystemOutput
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
    except Exception:
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
    nominal_kbps = 24.0
    Options = OpusOptions
    shorthand = "kbps"
    APPLICATIONS = {"audio": "APPLICATION_AUDIO", "voip": "APPLICATION_VOIP",
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
        opuslib = _opuslib()
        enc = self._encoder()
        dec = opuslib.Decoder(self.sample_rate, 1)
        lookahead = int(enc.lookahead)
        frame = self.sample_rate * FRAME_MS // 1000
        n = len(audio)
        # encode trailing zeros so that the look-ahead part of the last samples is flushed out
        total = int(np.ceil((n + lookahead) / frame)) * frame
        x = np.zeros(total, dtype=np.float32)
        x[:n] = np.clip(audio, -1.0, 1.0)
        packet_bytes = 0
        decoded = []
        for start in range(0, total, frame):
            packet = enc.encode_float(x[start:start + frame].tobytes(), frame)
            packet_bytes += len(packet)
            pcm = dec.decode_float(packet, frame)
            decoded.append(np.frombuffer(pcm, dtype=np.float32))
        y = np.concatenate(decoded)[lookahead:lookahead + n].astype(np.float32)
        n_packets = total // frame
        info: dict[str, Any] = {
            "lookahead_samples": lookahead,
            "packets": n_packets,
            "packet_bytes": packet_bytes,
            "stream_kbps": packet_bytes * 8 / (n_packets * FRAME_MS / 1000) / 1000,
        }
        return SystemOutput(audio=y, bits=float(packet_bytes * 8), info=info)

    def provenance(self) -> dict[str, Any]:
        return {
            "libopus": libopus_version(),
            "bitrate": self.bitrate,
            "application": self.options.application,
            "frame_ms": FRAME_MS,
            "vbr": True,
            "complexity": 10,
            "lookahead_samples": int(self._encoder().lookahead),
        }
