"""Perceptual-model metrics from ITU/standard implementations: PESQ (P.862) and STOI/ESTOI."""

from __future__ import annotations

from typing import Any

import numpy as np

from metrics.base import Metric, MetricError, MetricSpec

PESQ_MIN_SECONDS = 0.25
#: longest input scored. The P.862 C code keeps at most 50 speech segments (MAXNUTTERANCES) in fixed
#: arrays and writes past them on longer speech (a 4-minute clip crashed its process, 3 minutes did not).
#: PESQ is defined on single short test sentences, so longer files get NaN with this reason rather than
#: a mean over segments, which would be a different measure than the PESQ reported in papers.
PESQ_MAX_SECONDS = 60.0


class _Pesq(Metric):
    mode: str = ""
    requires = ("pesq", "pip install pesq")

    def compute(self, *, reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> float:
        from pesq import pesq

        if len(reference) < PESQ_MIN_SECONDS * sample_rate:
            raise MetricError(f"too short for PESQ ({len(reference) / sample_rate:.3f} s < {PESQ_MIN_SECONDS} s)")
        if len(reference) > PESQ_MAX_SECONDS * sample_rate:
            raise MetricError(f"too long for PESQ ({len(reference) / sample_rate:.1f} s > {PESQ_MAX_SECONDS:.0f} s: "
                              "the P.862 code holds at most 50 speech segments and crashes beyond; "
                              "cut long recordings into sentences)")
        if not np.any(degraded):
            raise MetricError("silent output (every sample is zero): PESQ finds no speech to compare")
        try:
            # on_error=RAISE: a failed PESQ must never become -1
            return float(pesq(sample_rate, reference.astype(np.float64), degraded.astype(np.float64), self.mode))
        except Exception as exc:  # noqa: BLE001 - any library error is the value's reason
            raise MetricError(f"PESQ failed: {exc.__class__.__name__}: {exc}") from None

    def settings(self) -> dict[str, Any]:
        return {"mode": self.mode, "mapping": "P.862.2" if self.mode == "wb" else "P.862.1"}


class PesqWB(_Pesq):
    spec = MetricSpec("pesq_wb", True, 16000, unit="MOS-LQO", library="pesq",
                      description="PESQ wide band (ITU-T P.862.2), 16 kHz")
    mode = "wb"


class PesqNB(_Pesq):
    spec = MetricSpec("pesq_nb", True, 8000, unit="MOS-LQO", library="pesq",
                      description="PESQ narrow band (ITU-T P.862.1), 8 kHz")
    mode = "nb"


class _Stoi(Metric):
    extended: bool = False
    requires = ("pystoi", "pip install pystoi")

    def compute(self, *, reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> float:
        from pystoi import stoi

        try:
            value = float(stoi(reference.astype(np.float64), degraded.astype(np.float64), sample_rate,
                               extended=self.extended))
        except Exception as exc:  # noqa: BLE001 - any library error is the value's reason
            raise MetricError(f"STOI failed: {exc.__class__.__name__}: {exc}") from None
        # pystoi returns 1e-5 when fewer than 30 non-silent frames remain: a failure, not a score
        if value <= 1e-5 + 1e-12:
            raise MetricError("too few non-silent frames for STOI (< 30 frames of 384 ms context)")
        return value

    def settings(self) -> dict[str, Any]:
        return {"extended": self.extended, "internal_rate": 10000}


class Stoi(_Stoi):
    spec = MetricSpec("stoi", True, 10000, unit="", library="pystoi",
                      description="Short-time objective intelligibility (run at its native 10 kHz)")


class Estoi(_Stoi):
    spec = MetricSpec("estoi", True, 10000, unit="", library="pystoi",
                      description="Extended STOI (run at its native 10 kHz)")
    extended = True
