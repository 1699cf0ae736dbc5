"""The metrics codec papers report besides PESQ/STOI: PLCMOS, speaker similarity, pitch error, ESPnet's MCD.

Each is checked against the package or reference code where one exists (speechmos' PLCMOS, Resemblyzer's
VoiceEncoder, VERSA's MCD values kept in tests/data), and by known answers otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

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


VERSA_DIR = Path(__file__).resolve().parent / "data" / "versa_mcd"


def _flac(name: str) -> np.ndarray:
    audio, rate = sf.read(VERSA_DIR / name)
    assert rate == 24000
    return audio


def test_mcd_espnet_equals_versa_mcd_f0():
    """VERSA's own ``mcd_f0`` (shipped defaults) on Opus and 3.5 kHz-anchor clips of the demo, kept with the
    script that made them (tests/data/versa_mcd/make_versa_mcd.py): equal within 1e-3 dB."""
    expected = json.loads((VERSA_DIR / "expected.json").read_text())
    assert expected["sample_rate"] == METRICS.get("mcd_espnet").spec.sample_rate
    metric = METRICS.get("mcd_espnet")()
    for pair, want in expected["pairs"].items():
        got = metric.compute(reference=_flac(want["reference"]), degraded=_flac(want["output"]), sample_rate=24000)
        assert got == pytest.approx(want["mcd"], abs=1e-3), pair
    assert metric.settings()["alpha"] == expected["versa"]["config"]["mcep_alpha"]


def test_world_metrics_known_answers():
    """Identical signals: F0 RMSE 0, correlation 1, V/UV error 0, MCD 0. Half the gain: ESPnet's MCD keeps c0
    (log gain), so it moves by 10/ln10 * sqrt(2) * ln 2 = 4.257 dB while the pitch does not move."""
    x = _flac("demo_f_001_reference.flac")
    scores = {n: METRICS.get(n)().compute(reference=x, degraded=x, sample_rate=24000)
              for n in ("f0_rmse", "f0_corr", "vuv_error", "mcd_espnet")}
    assert scores == {"f0_rmse": 0.0, "f0_corr": pytest.approx(1.0, abs=1e-12), "vuv_error": 0.0, "mcd_espnet": 0.0}
    half = METRICS.get("mcd_espnet")().compute(reference=x, degraded=0.5 * x, sample_rate=24000)
    assert half == pytest.approx(10 / np.log(10) * np.sqrt(2) * np.log(2), abs=0.01)
    assert METRICS.get("f0_rmse")().compute(reference=x, degraded=0.5 * x, sample_rate=24000) < 0.5


def test_pitch_error_of_a_shifted_harmonic_tone():
    """A harmonic tone gliding 120 -> 180 Hz and the same tone 10 % higher: F0 RMSE is 10 % of the RMS pitch
    (within 5 %), correlation ~1, voicing agrees; a silent output is NaN with the reason."""
    rate, seconds = 24000, 1.0
    t = np.arange(int(rate * seconds)) / rate
    f0 = 120 + 60 * t / seconds

    def tone(scale: float) -> np.ndarray:
        phase = 2 * np.pi * np.cumsum(scale * f0) / rate
        return 0.1 * sum(np.sin(k * phase) / k for k in range(1, 11))

    ref, shifted = tone(1.0), tone(1.1)
    expected = 0.1 * np.sqrt(np.mean(f0**2))
    assert METRICS.get("f0_rmse")().compute(reference=ref, degraded=shifted, sample_rate=rate) == pytest.approx(
        expected, rel=0.05)
    assert METRICS.get("f0_corr")().compute(reference=ref, degraded=shifted, sample_rate=rate) > 0.99
    assert METRICS.get("vuv_error")().compute(reference=ref, degraded=shifted, sample_rate=rate) < 0.05
    with pytest.raises(MetricError, match="output is silent"):
        METRICS.get("f0_rmse")().compute(reference=ref, degraded=np.zeros_like(ref), sample_rate=rate)


def test_default_metrics_leave_out_the_slow_world_metrics_and_whisper():
    """``default`` keeps the cheap new metrics (speaker_sim ~ PESQ-WB, plcmos ~5x) and leaves out the WORLD
    metrics (~35x PESQ-WB) and wer/cer; ``all`` has them, skipping wer/cer with the reason when no weights."""
    from metrics import resolve_metrics

    default, _ = resolve_metrics(["default"])
    assert {"speaker_sim", "plcmos"} <= set(default)
    assert not {"f0_rmse", "f0_corr", "vuv_error", "mcd_espnet", "wer", "cer"} & set(default)
    every, skipped = resolve_metrics(["all"])
    assert {"f0_rmse", "f0_corr", "vuv_error", "mcd_espnet"} <= set(every)
    assert "no Whisper weights" in dict(skipped)["wer"] and "wer" not in every
    assert resolve_metrics(["pitch"])[0] == ["f0_rmse", "f0_corr", "vuv_error"]
