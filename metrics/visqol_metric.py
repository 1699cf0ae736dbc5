"""ViSQOL v3 via visqol-python: speech mode (16 kHz) and audio mode (48 kHz).

Speech mode uses the polynomial (exponential) mapper scaled so identical signals score 5.0, the one
most toolkits report; Google's command-line default (lattice mapper) scores identical speech ~4.52.
Scores are not comparable across mappers: the mapper is recorded with every run.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from metrics.base import Metric, MetricError, MetricSpec

VISQOL_MIN_SECONDS = 1.0
#: longest input scored, per mode. visqol-python holds both signals' spectrograms and every patch in memory
#: (measured: about 3 MB per second of input in speech mode, 10 MB in audio mode), and ViSQOL is not a
#: mean over independent blocks, so longer inputs get NaN with this reason instead of gigabytes per worker
VISQOL_MAX_SECONDS = {"speech": 300.0, "audio": 120.0}


class _Visqol(Metric):
    mode: str = ""

    def __init__(self) -> None:
        self._api = None

    requires = ("visqol", "pip install 'visqol-python[accel]'")
    extra_libraries = ("numba",)

    def _get_api(self):
        if self._api is None:
            from visqol import VisqolApi

            logging.getLogger("visqol").setLevel(logging.ERROR)
            api = VisqolApi()
            if self.mode == "speech":
                api.create(mode="speech", use_lattice_model=False)
            else:
                api.create(mode="audio")
            self._api = api
        return self._api

    def compute(self, *, reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> float:
        if len(reference) < VISQOL_MIN_SECONDS * sample_rate:
            raise MetricError(f"too short for ViSQOL ({len(reference) / sample_rate:.3f} s < {VISQOL_MIN_SECONDS} s)")
        limit = VISQOL_MAX_SECONDS[self.mode]
        if len(reference) > limit * sample_rate:
            raise MetricError(f"too long for ViSQOL {self.mode} mode ({len(reference) / sample_rate:.1f} s > "
                              f"{limit:.0f} s: it holds the whole signal's spectrogram and patches in memory; "
                              "cut long recordings into sentences)")
        try:
            res = self._get_api().measure_from_arrays(reference.astype(np.float64), degraded.astype(np.float64),
                                                      sample_rate)
        except Exception as exc:  # noqa: BLE001 - any library error is the value's reason
            raise MetricError(f"ViSQOL failed: {exc.__class__.__name__}: {exc}") from None
        value = float(res.moslqo)
        if not np.isfinite(value):
            raise MetricError("ViSQOL returned a non-finite score")
        return value

    def settings(self) -> dict[str, Any]:
        if self.mode == "speech":
            return {"mode": "speech", "mapper": "polynomial (exponential), scaled: identical = 5.0",
                    "search_window": 60}
        return {"mode": "audio", "mapper": "SVR (libsvm_nu_svr_model.txt, bundled)", "search_window": 60}


class VisqolSpeech(_Visqol):
    spec = MetricSpec("visqol_speech", True, 16000, unit="MOS-LQO", library="visqol-python",
                      description="ViSQOL v3 speech mode, 16 kHz, polynomial mapper")
    mode = "speech"


class VisqolAudio(_Visqol):
    spec = MetricSpec("visqol_audio", True, 48000, unit="MOS-LQO", library="visqol-python",
                      description="ViSQOL v3 audio mode, 48 kHz, SVR mapper",
                      min_eval_rate=44100)
    mode = "audio"
