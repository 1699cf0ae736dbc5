"""The metrics codec papers report besides PESQ/STOI: PLCMOS, speaker similarity, pitch error, ESPnet's MCD.

Each is checked against the package or reference code where one exists (speechmos' PLCMOS, Resemblyzer's
VoiceEncoder, VERSA's MCD values kept in tests/data), and by known answers otherwise.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.audio import SAMPLE_RATE, load_input, resample
from bench.corpora import CorpusOptions, open_corpus
from metrics import METRICS, MetricError


@pytest.fixture(scope="module")
def demo48() -> dict[str, np.ndarray]:
    """Demo utterances at 48 kHz by id."""
    return {u.id: load_input(u.path).audio for u in open_corpus("demo", CorpusOptions()).utterances()}


def at16(x: np.ndarray) -> np.ndarray:
    return resample(x, SAMPLE_RATE, 16000).astype(np.float32)


def test_plcmos_equals_speechmos(demo48):
    """Same ONNX model, features and rater embeddings (speechmos after ``np.random.seed(SEED)``): equal to 1e-9;
    the suite's value does not depend on NumPy's global generator."""
    pytest.importorskip("requests")  # speechmos' module imports it
    from speechmos import plcmos as theirs

    from metrics.plcmos import SEED

    metric = METRICS.get("plcmos")()
    for utt in ("demo_f_001", "demo_m_003"):
        clip = at16(demo48[utt])
        np.random.seed(123)
        ours = metric.compute(reference=None, degraded=clip, sample_rate=16000)
        np.random.seed(SEED)
        assert ours == pytest.approx(theirs.run(clip, 16000)["plcmos"], abs=1e-9), utt
    assert "sha256" in metric.settings() and metric.settings()["rater_embeddings"] == 15


def test_plcmos_rejects_silence_and_short_clips():
    metric = METRICS.get("plcmos")()
    with pytest.raises(MetricError, match="silent"):
        metric.compute(reference=None, degraded=np.zeros(16000, np.float32), sample_rate=16000)
    with pytest.raises(MetricError, match="too short"):
        metric.compute(reference=None, degraded=np.full(1000, 0.1, np.float32), sample_rate=16000)


def test_speaker_sim_equals_resemblyzer(demo48):
    """Cosine of the package's own VoiceEncoder embeddings (its preprocessing included); identical audio
    scores 1; two utterances of one espeak voice score above two different voices."""
    resemblyzer = pytest.importorskip("resemblyzer")
    encoder = resemblyzer.VoiceEncoder("cpu", verbose=False)
    clips = {k: at16(demo48[k])[:40000] for k in ("demo_f_001", "demo_f_002", "demo_m_001")}
    embeds = {k: encoder.embed_utterance(resemblyzer.preprocess_wav(x)) for k, x in clips.items()}
    metric = METRICS.get("speaker_sim")()

    def sim(a: str, b: str) -> float:
        return metric.compute(reference=clips[a], degraded=clips[b], sample_rate=16000)

    assert sim("demo_f_001", "demo_m_001") == pytest.approx(float(embeds["demo_f_001"] @ embeds["demo_m_001"]),
                                                             abs=1e-6)
    assert sim("demo_f_001", "demo_f_001") == pytest.approx(1.0, abs=1e-6)
    assert sim("demo_f_001", "demo_f_002") > sim("demo_f_001", "demo_m_001") + 0.1
    settings = metric.settings()
    assert settings["weights"] == "resemblyzer/pretrained.pt" and len(settings["sha256"]) == 64


def test_speaker_sim_says_which_side_has_no_speech(demo48):
    metric = METRICS.get("speaker_sim")()
    speech = at16(demo48["demo_f_001"])[:32000]
    with pytest.raises(MetricError, match="output is silent"):
        metric.compute(reference=speech, degraded=np.zeros_like(speech), sample_rate=16000)
    with pytest.raises(MetricError, match="reference: no speech"):
        metric.compute(reference=np.full_like(speech, 1e-4), degraded=speech, sample_rate=16000)
