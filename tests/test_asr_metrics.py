"""``wer`` / ``cer``: Whisper transcripts scored with jiwer after Whisper's English normaliser.

No real Whisper weights can be downloaded here, so the loading and batching path is proven on a Whisper model
built with the package itself (tiny dimensions, random weights) and saved in the package's checkpoint format.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

whisper = pytest.importorskip("whisper")
jiwer = pytest.importorskip("jiwer")

from bench.errors import UsageError
from bench.runner import RunConfig, run
from metrics import METRICS, metric_name
from metrics.asr import WhisperTranscriber, error_rates, normalise
from systems import RunSettings


def test_error_rates_are_jiwer_on_whisper_normalised_text():
    """Known answers (one substitution and one deletion in four words: WER 0.5) and jiwer's own values on the
    normalised strings; spelling, case, punctuation and number forms do not count as errors."""
    assert error_rates("a b c d", "a x c") == (0.5, jiwer.cer("a b c d", "a x c"))
    assert error_rates("Mr. Smith paid $20.", "mister smith paid twenty dollars") == (0.0, 0.0)
    assert error_rates("The colour, of the CENTRE!", "the color of the center") == (0.0, 0.0)
    ref = "The quick brown fox jumps over the lazy dog near the quiet river bank."
    hyp = "the quick brown fox jumped over a lazy dog near the river bank"
    wer, cer = error_rates(ref, hyp)
    assert wer == pytest.approx(jiwer.wer(normalise(ref), normalise(hyp))) and wer == pytest.approx(3 / 14)
    assert cer == pytest.approx(jiwer.cer(normalise(ref), normalise(hyp))) and 0 < cer < wer


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory):
    """A 1-layer English-only Whisper (random weights, seed 0) in the package's checkpoint format."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=16, n_audio_head=2, n_audio_layer=1,
                           n_vocab=51864, n_text_ctx=24, n_text_state=16, n_text_head=2, n_text_layer=1)
    torch.manual_seed(0)
    model = Whisper(dims)
    path = tmp_path_factory.mktemp("whisper") / "tiny-random.pt"
    torch.save({"dims": dataclasses.asdict(dims), "model_state_dict": model.state_dict()}, path)
    return path


def test_checkpoint_loads_and_a_batch_transcribes_like_single_clips(tiny_whisper):
    rng = np.random.default_rng(0)
    clips = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in (16000, 24000)]
    transcriber = WhisperTranscriber(tiny_whisper)
    assert transcriber.english_only and transcriber.model.dims.n_text_ctx == 24
    batch = transcriber.transcribe(clips)
    assert batch == [transcriber.transcribe([c])[0] for c in clips] and all(batch)


def test_model_option_names():
    assert metric_name("wer") == "wer" and metric_name("wer[model=small]") == "wer_small"
    assert metric_name("cer[model=tiny.en]") == "cer_tiny_en"
    assert METRICS.get("wer_small").model == "small" and "wer_small" not in METRICS.names()
    # the plain `whisper` checkpoint serves the default model only: one file never stands for two sizes
    assert METRICS.get("wer").weights_reason({"whisper": "base.pt"}) is None
    assert "--checkpoint whisper_small=" in METRICS.get("wer_small").weights_reason({"whisper": "base.pt"})
    with pytest.raises(ValueError, match="model is one of"):
        metric_name("wer[model=huge]")


def test_run_skips_wer_without_weights_and_scores_it_with_a_checkpoint(tmp_path, tiny_whisper):
    base = {"systems": ["natural"], "data": "demo", "limit": 1, "workers": 1, "quiet": True, "report": False}
    out = tmp_path / "no-weights"
    run(RunConfig(out=out, metrics=["pesq_wb", "wer"], **base))
    doc = json.loads((out / "run.json").read_text())
    reason = doc["config"]["skipped_metrics"]["wer"]
    assert "no Whisper weights" in reason and "--checkpoint whisper_base.en=" in reason and "base.en.pt" in reason
    assert "wer" not in (out / "results.csv").read_text()
    with pytest.raises(UsageError, match="nothing left to compute; wer: no Whisper weights"):
        run(RunConfig(out=tmp_path / "only-wer", metrics=["wer"], **base))

    out = tmp_path / "weights"
    run(RunConfig(out=out, metrics=["wer", "cer"], settings=RunSettings(checkpoints={"whisper": tiny_whisper}),
                  **base))
    rows = {line.split(",")[3]: line.split(",") for line in (out / "results.csv").read_text().splitlines()[1:]}
    assert float(rows["wer"][4]) >= 0 and float(rows["cer"][4]) >= 0 and rows["wer"][5] == ""
    settings = json.loads((out / "run.json").read_text())["metrics"]["wer"]["settings"]
    assert settings["checkpoint"] == str(tiny_whisper) and len(settings["sha256"]) == 64
    assert settings["official_checkpoint"] is False


def test_wer_fetches_whisper_weights_through_the_download_cache(tmp_path, tiny_whisper, monkeypatch):
    """Without --checkpoint, a run online fetches ``whisper-base.en`` into the verified cache once (from a local
    publisher standing in for OpenAI's), records it in run.json, and a later offline run uses the cached file."""
    from test_downloads import Publisher, publish

    pub = Publisher()
    monkeypatch.setenv("CODEC_BENCH_MIRROR", pub.url)
    monkeypatch.setenv("CODEC_BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CODEC_BENCH_OFFLINE")
    pub.registry = tmp_path / "registry.json"
    pub.registry.write_text("[]")
    monkeypatch.setenv("CODEC_BENCH_REGISTRY", str(pub.registry))
    data = tiny_whisper.read_bytes()
    publish(pub, "whisper-base.en", data, filename="base.en.pt")
    try:
        base = {"systems": ["natural"], "data": "demo", "limit": 1, "workers": 1, "quiet": True, "report": False}
        out = tmp_path / "online"
        run(RunConfig(out=out, metrics=["wer", "cer"], **base))
        doc = json.loads((out / "run.json").read_text())
        settings = doc["metrics"]["wer"]["settings"]
        assert settings["checkpoint"].startswith(str(tmp_path / "cache"))
        assert settings["sha256"] == doc["downloads"]["whisper-base.en"]["sha256"]
        assert pub.requests == {"base.en.pt": 1}
        rows = {line.split(",")[3]: line.split(",") for line in (out / "results.csv").read_text().splitlines()[1:]}
        assert float(rows["wer"][4]) >= 0 and rows["wer"][5] == ""

        monkeypatch.setenv("CODEC_BENCH_OFFLINE", "1")
        out = tmp_path / "offline"
        run(RunConfig(out=out, metrics=["wer"], **base))
        assert "wer" in (out / "results.csv").read_text() and pub.requests == {"base.en.pt": 1}
    finally:
        pub.server.shutdown()
