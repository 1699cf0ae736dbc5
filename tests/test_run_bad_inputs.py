"""One bad file never loses the rest of a run: each gets a per-item error naming the file."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import soundfile as sf
from conftest import read_rows, run_bench

from bench.corpora import DEMO_DIR

BAD = {
    "empty": "empty file",
    "text": "cannot be read as audio",
    "nan": "NaN",
    "stereo": "2 channels",
    "narrow": "8000 Hz",
    "short": "shorter than",
    "silence": "digital silence",
}


def _make_corpus(root):
    root.mkdir()
    for utt in ("demo_f_001", "demo_m_001"):
        shutil.copy(DEMO_DIR / f"{utt}.flac", root / f"{utt}.flac")
    (root / "empty.wav").write_bytes(b"")
    (root / "text.wav").write_text("this is not audio\n")
    x = np.random.default_rng(0).normal(0, 0.1, 48000).astype(np.float32)
    bad = x.copy()
    bad[100] = np.nan
    sf.write(root / "nan.wav", bad, 48000, subtype="FLOAT")
    sf.write(root / "stereo.wav", np.stack([x, x], axis=1), 48000)
    sf.write(root / "narrow.wav", x[:8000], 8000)
    sf.write(root / "short.wav", x[:4800], 48000)
    sf.write(root / "silence.wav", np.zeros(48000, dtype=np.float32), 48000)


def test_each_bad_input_is_skipped_once_with_its_reason(tmp_path):
    corpus = tmp_path / "corpus"
    _make_corpus(corpus)
    out = tmp_path / "run"
    r = run_bench("run", "--systems", "natural,anchor70", "--data", f"folder:{corpus}", "--out", str(out),
                  "--metrics", "si_sdr,lsd", "--workers", "2", "--no-report")
    assert r.returncode == 0, r.stderr
    assert f"{len(BAD)} input(s) skipped" in r.stderr
    assert "(1 failed)" not in r.stdout  # no system's cell counts an input it never saw
    rows = read_rows(out / "results.csv")
    for stem, problem in BAD.items():
        mine = [x for x in rows if x["utterance"] == stem]
        assert len(mine) == 1  # one row for the input, none per system or metric
        (x,) = mine
        assert (x["system"], x["metric"], x["value"]) == ("", "skipped_input", "nan")
        assert f"{stem}.wav" in x["error"] and problem in x["error"], x["error"]
        assert sum(stem in line and problem in line for line in r.stderr.splitlines()) == 1
    good = [x for x in rows if x["utterance"] in ("demo_f_001", "demo_m_001") and x["metric"] == "si_sdr"]
    assert len(good) == 4 and all(math.isfinite(float(x["value"])) for x in good)
    summary = read_rows(out / "summary.csv")
    assert {x["system"] for x in summary} == {"natural", "anchor70"}
    assert all(x["n_failed"] == "0" for x in summary if x["metric"] != "bitrate_kbps")
    info = json.loads((out / "run.json").read_text())
    assert sorted(Path(d["path"]).stem for d in info["skipped_inputs"]) == sorted(BAD)
    # the report lists each skipped input once, and no missing audio for it
    from reports.rundata import load_run

    failures = load_run(out).failures()
    for stem in BAD:
        assert [(f.system, f.metric) for f in failures if f.utterance == stem] == [("", "input skipped")]
    # --strict turns the skipped inputs into a non-zero exit, without recomputing anything
    strict = run_bench("run", "--systems", "natural,anchor70", "--data", f"folder:{corpus}", "--out", str(out),
                       "--metrics", "si_sdr,lsd", "--workers", "2", "--no-report", "--strict")
    assert strict.returncode == 1


def test_downmix_accepts_stereo(tmp_path):
    from bench.audio import load_input

    x = np.random.default_rng(1).normal(0, 0.1, 48000).astype(np.float32)
    sf.write(tmp_path / "st.wav", np.stack([x, -x * 0.5], axis=1), 48000, subtype="FLOAT")
    y = load_input(tmp_path / "st.wav", downmix=True)
    assert y.channels == 2 and np.allclose(y.audio, 0.25 * x, atol=1e-6)


def test_resampling_is_recorded(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    t = np.arange(22050 * 2) / 22050
    sf.write(corpus / "a.wav", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 22050)
    out = tmp_path / "run"
    r = run_bench("run", "--systems", "natural", "--data", f"folder:{corpus}", "--out", str(out),
                  "--metrics", "si_sdr", "--no-report")
    assert r.returncode == 0, r.stderr
    import json

    item = json.loads((out / "run.json").read_text())["corpus"]["items"][0]
    assert item["resampled_from"] == 22050 and item["resampler"] == "soxr VHQ"
    assert sf.info(out / "reference" / "a.wav").samplerate == 48000
    assert sf.info(out / "reference" / "a.wav").frames == 96000
