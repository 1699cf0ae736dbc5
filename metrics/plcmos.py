"""PLCMOS v2 (non-intrusive MOS for packet-loss concealment, 16 kHz) with the ONNX model the speechmos wheel ships.

Features: log power spectrum of a 512-point periodic Hamming STFT, hop 256, frames starting 256 samples before
the signal (zero-padded both ends); power zeros floored 120 dB below the smallest non-zero bin; natural log
divided by 20. The model is conditioned on a random 64-dimensional "rater" embedding; the score is the mean
over 15 standard-normal embeddings. speechmos draws them from NumPy's global generator, so its score changes
from call to call; here they are drawn from ``numpy.random.RandomState(SEED)`` (the same sequence as
``np.random.seed(SEED)`` followed by speechmos' draws), so every file scores the same in every run, and
equal to speechmos after ``np.random.seed(SEED)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metrics.base import Metric, MetricError, MetricSpec
from metrics.packaged import PackagedFileMissing, file_sha256, package_file

SAMPLE_RATE = 16000
MODEL = "plcmos_models/plcmos_v2.onnx"
INSTALL = "pip install speechmos==0.0.1.1 onnxruntime"
N_FFT, HOP = 512, 256
FLOOR_DB = -120.0
RATER_ROUNDS, RATER_DIM, SEED = 15, 64, 0
#: shorter clips are rejected (the model's receptive field); 0.5 s is what the PLCMOS challenge clips never go below
MIN_SECONDS = 0.5


def plcmos_features(audio: np.ndarray) -> np.ndarray:
    """``[T]`` 16 kHz audio -> ``[frames, 257]`` float32 log-power features (speechmos' ``stft_transform``)."""
    window = np.hamming(N_FFT + 1)[:-1]
    n_frames = -(-(len(audio) + N_FFT - HOP) // HOP)
    padded = np.zeros((n_frames - 1) * HOP + N_FFT, dtype=audio.dtype)
    padded[N_FFT - HOP:N_FFT - HOP + len(audio)] = audio
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:n_frames] * window
    power = np.abs(np.fft.rfft(frames, n=N_FFT)) ** 2
    zeros = power == 0
    log_power = np.empty_like(power)
    if np.all(zeros):
        log_power.fill(-80 / 10 * np.log(10))
    else:
        log_power[~zeros] = np.log(power[~zeros])
        log_power[zeros] = np.log(power[~zeros].min()) + FLOOR_DB / 10 * np.log(10)
    return np.float32(log_power / 20.0)


class Plcmos(Metric):
    """PLCMOS v2 of one output; the reference is not used."""

    spec = MetricSpec("plcmos", True, SAMPLE_RATE, needs_reference=False, unit="MOS", library="speechmos",
                      description="PLCMOS v2 predicted MOS for packet-loss concealment (no reference), 16 kHz")

    def __init__(self) -> None:
        self._session = None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            import onnxruntime  # noqa: F401

            package_file("speechmos", MODEL, INSTALL)
        except ImportError as exc:
            return f"{exc}; install with: {INSTALL}"
        except PackagedFileMissing as exc:
            return str(exc)
        return None

    def _model(self):
        if self._session is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = 1  # the runner already runs one worker per core
            options.inter_op_num_threads = 1
            self._session = ort.InferenceSession(str(package_file("speechmos", MODEL, INSTALL)), options,
                                                 providers=["CPUExecutionProvider"])
        return self._session

    def compute(self, *, reference: np.ndarray | None, degraded: np.ndarray, sample_rate: int) -> float:
        if len(degraded) < MIN_SECONDS * SAMPLE_RATE:
            raise MetricError(f"{len(degraded) / SAMPLE_RATE:.3f} s is too short (PLCMOS needs {MIN_SECONDS} s)")
        if not np.any(degraded):
            raise MetricError("silent signal (no speech to rate)")
        if not np.all(np.abs(degraded) <= 1.0):
            raise MetricError("samples outside [-1, 1] (PLCMOS expects full-scale float audio)")
        return plcmos_score(self._model(), degraded)

    def settings(self) -> dict[str, Any]:
        return {"model": f"speechmos/{MODEL}", "sha256": file_sha256(package_file("speechmos", MODEL, INSTALL)),
                "rater_embeddings": RATER_ROUNDS, "seed": SEED}


def plcmos_score(session, audio: np.ndarray) -> float:
    """Mean PLCMOS over the :data:`RATER_ROUNDS` seeded rater embeddings, one model call each (as speechmos)."""
    raters = np.random.RandomState(SEED)
    features = plcmos_features(np.asarray(audio))[None, None]
    scores = [float(session.run(None, {"degraded_audio": features,
                                       "rater_embed": raters.normal(size=(1, RATER_DIM)).astype(np.float32)})[0])
              for _ in range(RATER_ROUNDS)]
    return sum(scores) / RATER_ROUNDS
