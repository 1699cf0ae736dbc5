"""DNSMOS (P.835 SIG/BAK/OVRL and P.808 MOS): non-intrusive, with the ONNX models the speechmos wheel ships.

The models are run with onnxruntime at 16 kHz over 9.01 s windows moved by 1 s; shorter clips are tiled
(repeated end to end) up to 9.01 s. The P.835 model reads the waveform, the P.808 model a 120-band log-mel
spectrogram; the raw P.835 outputs go through the published third-order polynomial calibration. Scores are
the means over windows. One forward pass serves all four metrics (a one-entry cache per process).

Samples past full scale (a codec's overshoot, a peak of 1.005) are scored as they are, neither clipped nor
scaled, as Microsoft's dnsmos_local.py does with what soundfile reads (and speechmos with a file path; only
its array input refuses them).
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

import numpy as np

from metrics.base import Metric, MetricError, MetricSpec
from metrics.packaged import PackagedFileMissing, file_sha256, package_file

SAMPLE_RATE = 16000
WINDOW_SECONDS = 9.01
HOP_SECONDS = 1.0
INSTALL = "pip install speechmos==0.0.1.1 onnxruntime librosa"
P835_MODEL = "dnsmos_models/sig_bak_ovr.onnx"
P808_MODEL = "dnsmos_models/model_v8.onnx"
#: P.835 calibration polynomials (highest power first), non-personalised DNSMOS
P835_CALIBRATION = {
    "sig": (-0.08397278, 1.22083953, 0.0052439),
    "bak": (-0.13166888, 1.60915514, -0.39604546),
    "ovrl": (-0.06766283, 1.11546468, 0.04602535),
}


class DnsmosModels:
    """The two ONNX sessions, loaded once per process.

    Args:
        threads: onnxruntime intra-op threads (1: the runner already runs one worker per core).
    """

    def __init__(self, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.p835_path = package_file("speechmos", P835_MODEL, INSTALL)
        self.p808_path = package_file("speechmos", P808_MODEL, INSTALL)
        providers = ["CPUExecutionProvider"]
        self.p835 = ort.InferenceSession(str(self.p835_path), options, providers=providers)
        self.p808 = ort.InferenceSession(str(self.p808_path), options, providers=providers)
        self._last: tuple[bytes, dict[str, float]] | None = None

    @staticmethod
    def p808_features(window: np.ndarray) -> np.ndarray:
        """``[frames, 120]`` log-mel features of one window (its last 10 ms left out, as DNSMOS P.808 does)."""
        import librosa

        mel = librosa.feature.melspectrogram(y=window[:-160], sr=SAMPLE_RATE, n_fft=321, hop_length=160, n_mels=120)
        return ((librosa.power_to_db(mel, ref=np.max) + 40) / 40).T

    def scores(self, audio: np.ndarray) -> dict[str, float]:
        """``sig``, ``bak``, ``ovrl`` and ``p808`` of ``[T]`` float32 audio at 16 kHz (full scale 1; peaks past
        it are scored as they are)."""
        key = hashlib.blake2b(audio.tobytes(), digest_size=16).digest() + str(audio.dtype).encode()
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        if len(audio) == 0:
            raise MetricError("empty signal")
        if not np.all(np.isfinite(audio)):
            raise MetricError("NaN or infinite samples")
        n_window = int(WINDOW_SECONDS * SAMPLE_RATE)
        # a tiled clip repeats with the clip's period: windows starting at the same offset modulo it are the
        # same samples, so each distinct window is scored once (a 2 s clip: 2 forward passes, not 7)
        period = len(audio) if len(audio) < n_window else None
        while len(audio) < n_window:  # tile short clips
            audio = np.concatenate([audio, audio])
        n_windows = int(np.floor(len(audio) / SAMPLE_RATE) - WINDOW_SECONDS) + 1
        raw: dict[str, list[float]] = {"sig": [], "bak": [], "ovrl": [], "p808": []}
        seen: dict[int, tuple[float, float, float, float]] = {}
        for k in range(n_windows):
            start, end = int(k * HOP_SECONDS * SAMPLE_RATE), int((k + WINDOW_SECONDS) * HOP_SECONDS * SAMPLE_RATE)
            window = audio[start:end]
            if len(window) < n_window:
                continue
            offset = start % period if period else start
            if offset not in seen:
                p835 = self.p835.run(None, {"input_1": window.astype(np.float32)[None, :]})[0][0]
                features = self.p808_features(window).astype(np.float32)[None]
                p808 = self.p808.run(None, {"input_1": features})[0][0][0]
                sig, bak, ovrl = (np.poly1d(P835_CALIBRATION[n])(v) for n, v in zip(("sig", "bak", "ovrl"), p835, strict=True))
                seen[offset] = (sig, bak, ovrl, p808)
            for name, value in zip(("sig", "bak", "ovrl", "p808"), seen[offset], strict=True):
                raw[name].append(value)
        out = {name: float(np.mean(values)) for name, values in raw.items()}
        self._last = (key, out)
        return out


_MODELS: DnsmosModels | None = None


def dnsmos_models() -> DnsmosModels:
    """The process-wide :class:`DnsmosModels` (created on first use)."""
    global _MODELS
    if _MODELS is None:
        _MODELS = DnsmosModels()
    return _MODELS


class _Dnsmos(Metric):
    part: ClassVar[str] = ""

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            import librosa  # noqa: F401
            import onnxruntime  # noqa: F401

            package_file("speechmos", P835_MODEL, INSTALL)
            package_file("speechmos", P808_MODEL, INSTALL)
        except (ImportError, PackagedFileMissing) as exc:
            return f"{exc}" if isinstance(exc, PackagedFileMissing) else f"{exc}; install with: {INSTALL}"
        return None

    def compute(self, *, reference: np.ndarray | None, degraded: np.ndarray, sample_rate: int) -> float:
        return dnsmos_models().scores(np.ascontiguousarray(degraded, dtype=np.float32))[self.part]

    def settings(self) -> dict[str, Any]:
        models = dnsmos_models()
        return {"models": f"speechmos/{P835_MODEL}, speechmos/{P808_MODEL}", "window_s": WINDOW_SECONDS,
                "hop_s": HOP_SECONDS, "calibration": "non-personalised P.835 polynomials",
                "sha256": {P835_MODEL: file_sha256(models.p835_path), P808_MODEL: file_sha256(models.p808_path)}}



def _spec(part: str, description: str) -> MetricSpec:
    return MetricSpec(f"dnsmos_{part}", True, SAMPLE_RATE, needs_reference=False, unit="MOS", library="speechmos",
                      description=description)


class DnsmosSig(_Dnsmos):
    spec = _spec("sig", "DNSMOS P.835 speech signal quality (no reference), 16 kHz")
    part = "sig"


class DnsmosBak(_Dnsmos):
    spec = _spec("bak", "DNSMOS P.835 background noise quality (no reference), 16 kHz")
    part = "bak"


class DnsmosOvrl(_Dnsmos):
    spec = _spec("ovrl", "DNSMOS P.835 overall quality (no reference), 16 kHz")
    part = "ovrl"


class DnsmosP808(_Dnsmos):
    spec = _spec("p808", "DNSMOS P.808 MOS (no reference), 16 kHz")
    part = "p808"
