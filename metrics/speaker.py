"""Speaker similarity: cosine similarity of speaker embeddings of the reference and the output.

:class:`SpeakerSimilarity` holds the metric; each encoder is a subclass that says how to embed 16 kHz audio
and where its weights come from, so another encoder (a WavLM or ECAPA speaker-verification model) is one more
registered class. The default encoder is Resemblyzer's GE2E model (3-layer LSTM, 256-dimensional embeddings),
whose weights the ``resemblyzer`` wheel ships: its own preprocessing (volume raised to -30 dBFS, long pauses
removed with webrtcvad) and its own ``embed_utterance`` (1.6 s partials at 1.3 per second, averaged).
"""

from __future__ import annotations

import hashlib
from abc import abstractmethod
from collections import OrderedDict
from typing import Any, ClassVar

import numpy as np

from metrics.base import Metric, MetricError, MetricSpec
from metrics.packaged import PackagedFileMissing, file_sha256, package_file

SAMPLE_RATE = 16000
#: reference embeddings kept per process (each reference is scored against every system)
CACHE_SIZE = 8


class SpeakerSimilarity(Metric):
    """``cos(e_ref, e_out)`` of two speaker embeddings; 1 for the same voice. Subclasses set ``spec``,
    :attr:`encoder` and implement :meth:`embed` and :meth:`weights`."""

    #: what the encoder is, for run.json
    encoder: ClassVar[str] = ""

    def __init__(self) -> None:
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()

    @abstractmethod
    def embed(self, audio: np.ndarray) -> np.ndarray:
        """``[T]`` float32 16 kHz audio -> ``[D]`` embedding; raises MetricError when there is no speech."""

    @abstractmethod
    def weights(self) -> dict[str, str]:
        """The weights file and its sha256 (recorded with every run)."""

    def _embed(self, audio: np.ndarray, which: str) -> np.ndarray:
        key = hashlib.blake2b(audio.tobytes(), digest_size=16).digest()
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        if len(audio) == 0 or not np.any(audio):
            raise MetricError(f"{which} is silent (no speaker to embed)")
        try:
            out = self.embed(audio)
        except MetricError as exc:
            raise MetricError(f"{which}: {exc}") from None
        self._cache[key] = out
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return out

    def compute(self, *, reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> float:
        e_ref = self._embed(np.ascontiguousarray(reference, dtype=np.float32), "reference")
        e_out = self._embed(np.ascontiguousarray(degraded, dtype=np.float32), "output")
        return float(np.dot(e_ref, e_out) / (np.linalg.norm(e_ref) * np.linalg.norm(e_out)))

    def settings(self) -> dict[str, Any]:
        return {"encoder": self.encoder, **self.weights(), "similarity": "cosine"}


RESEMBLYZER_INSTALL = "pip install --no-deps resemblyzer==0.1.4 && pip install webrtcvad-wheels librosa"
RESEMBLYZER_WEIGHTS = "pretrained.pt"


def _resemblyzer():
    """The resemblyzer module (it imports ``scipy.ndimage.morphology``, deprecated in SciPy: warning muted)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import resemblyzer
    return resemblyzer


class ResemblyzerSimilarity(SpeakerSimilarity):
    """Speaker similarity with Resemblyzer's GE2E encoder (weights in its wheel)."""

    spec = MetricSpec("speaker_sim", True, SAMPLE_RATE, unit="cos", library="resemblyzer",
                      description="Speaker similarity: cosine of Resemblyzer GE2E embeddings (reference vs "
                                  "output), 16 kHz")
    encoder = "resemblyzer VoiceEncoder (GE2E, 3x256 LSTM, 256-dim)"
    extra_libraries = ("webrtcvad-wheels", "librosa")

    def __init__(self) -> None:
        super().__init__()
        self._model = None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            _resemblyzer()
            package_file("resemblyzer", RESEMBLYZER_WEIGHTS, RESEMBLYZER_INSTALL)
        except ImportError as exc:
            return f"resemblyzer cannot be imported ({exc}); install it with: {RESEMBLYZER_INSTALL}"
        except PackagedFileMissing as exc:
            return str(exc)
        return None

    def embed(self, audio: np.ndarray) -> np.ndarray:
        resemblyzer = _resemblyzer()
        if self._model is None:
            self._model = resemblyzer.VoiceEncoder("cpu", verbose=False)
        speech = resemblyzer.preprocess_wav(audio)  # already at its 16 kHz: volume and pauses only
        if len(speech) == 0:
            raise MetricError("no speech found by webrtcvad")
        return self._model.embed_utterance(speech)

    def weights(self) -> dict[str, str]:
        path = package_file("resemblyzer", RESEMBLYZER_WEIGHTS, RESEMBLYZER_INSTALL)
        return {"weights": f"resemblyzer/{RESEMBLYZER_WEIGHTS}", "sha256": file_sha256(path)}
