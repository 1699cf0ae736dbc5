"""`bench run --sample-rate`: references at the evaluation rate, systems at their own rate, metrics skipped
when they cannot run, 44.1 kHz corpora."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import SUBSET, demo_clips, read_rows, run_bench, run_bench_saved, saved_bench, values

pytest.importorskip("lc3")

SYSTEMS = "natural,anchor35,lc3@24k[sample_rate=16000]"


@pytest.fixture(scope="module")
def runs(shared_run) -> dict[int, tuple]:
    """The same 2 s of two demo utterances evaluated at 16 and 48 kHz: {rate: (run folder, bench's output)}."""
    def build(base: Path) -> None:
        data = demo_clips(base / "data", n=2, seconds=2.0)
        for rate in (16000, 48000):
            # at 16 kHz `default` is asked for, so that the metrics that cannot run there are skipped (with the
            # reason); `all` would add the slow WORLD metrics (Harvest), which run at any rate
            metrics = "default" if rate == 16000 else "pesq_wb,si_sdr"
            run_bench_saved(base / f"run{rate}", "run", "--systems", SYSTEMS, "--data", f"folder:{data}", "--out",
                            str(base / f"run{rate}"), "--metrics", metrics, "--sample-rate", str(rate), "--no-report",
                            "--workers", "1")

    base = shared_run("eval_rate", build)
    return {rate: (base / f"run{rate}", saved_bench(base / f"run{rate}")) for rate in (16000, 48000)}


def test_pesq_wb_is_the_same_at_16k_and_48k(runs):
    rows16, rows48 = (read_rows(runs[r][0] / "results.csv") for r in (16000, 48000))
    # PESQ-WB runs at 16 kHz either way: the reference is the same signal, so the same score
    assert values(rows16, "natural", "pesq_wb") == values(rows48, "natural", "pesq_wb")
    # a 16 kHz codec gets the same 16 kHz input either way: only the resampler's round trip differs
    lc3_16, lc3_48 = (values(rows, "lc3@24k[sample_rate=16000]", "pesq_wb") for rows in (rows16, rows48))
    np.testing.assert_allclose(lc3_16, lc3_48, atol=0.02)
    np.testing.assert_allclose(values(rows16, "anchor35", "pesq_wb"), values(rows48, "anchor35", "pesq_wb"),
                               atol=0.02)


def test_outputs_and_references_are_stored_at_the_evaluation_rate(runs):
    run16, _ = runs[16000]
    for sub in ("reference", "audio/natural", "audio/lc3@24k_sample_rate=16000_"):
        assert sf.info(run16 / sub / f"{SUBSET[0]}.wav").samplerate == 16000
    # at 16 kHz every system works at the evaluation rate (the anchors filter at it): nothing is resampled
    for sub in ("natural", "anchor35", "lc3@24k_sample_rate=16000_"):
        side = json.loads((run16 / "audio" / sub / f"{SUBSET[0]}.json").read_text())
        assert "resampled_at_boundary" not in side["info"]
    doc = json.loads((run16 / "run.json").read_text())
    assert doc["config"]["sample_rate"] == 16000
    assert doc["corpus"]["items"][0]["resampled_from"] == 48000
    assert doc["systems"]["lc3@24k[sample_rate=16000]"]["sample_rate"] == 16000
    assert (doc["systems"]["anchor35"]["sample_rate"], doc["systems"]["anchor35"]["resampling"]) == (16000, [])
    # at 48 kHz the 16 kHz codec is resampled once each way at its boundary, each step recorded
    run48, _ = runs[48000]
    lc3 = "lc3@24k[sample_rate=16000]"
    side = json.loads((run48 / "audio" / "lc3@24k_sample_rate=16000_" / f"{SUBSET[0]}.json").read_text())
    assert side["info"]["resampled_at_boundary"] == "48000 -> 16000 Hz, 16000 -> 48000 Hz"
    steps = json.loads((run48 / "run.json").read_text())["systems"][lc3]["resampling"]
    assert [(st["from"], st["to"], st["library"], st["quality"]) for st in steps] == [
        (48000, 16000, "soxr", "VHQ"), (16000, 48000, "soxr", "VHQ")]


def test_metrics_that_cannot_run_are_skipped_once_with_the_reason(runs, tmp_path):
    run16, r = runs[16000]
    reason = "needs audio evaluated at 44100 Hz or more"
    assert r.stderr.count("skipped lsd:") == 1 and reason in r.stderr
    assert "not computed: lsd" in r.stdout
    assert json.loads((run16 / "run.json").read_text())["config"]["skipped_metrics"]["visqol_audio"].startswith(reason)
    assert not [row for row in read_rows(run16 / "results.csv") if row["metric"] == "lsd"]
    # said once: how many inputs were resampled, from what rates; which system is resampled at its boundary
    assert r.stderr.count("resampled 2 of 2 inputs to 16000 Hz (2 from 48000 Hz") == 1
    assert "works at" not in r.stderr  # no system is resampled at its boundary at 16 kHz
    said = ("lc3@24k[sample_rate=16000] works at 16000 Hz: resampled at its boundary "
            "(48000 -> 16000 Hz, 16000 -> 48000 Hz)")
    assert said in runs[48000][1].stderr
    bad = run_bench("run", "--systems", "natural", "--data", "demo", "--out", str(tmp_path / "x"),
                    "--metrics", "lsd", "--sample-rate", "16000")
    assert bad.returncode == 2 and reason in bad.stderr


def test_a_44k1_folder_corpus(tmp_path):
    from scipy.signal import resample_poly

    from bench.corpora import DEMO_DIR

    folder = tmp_path / "corpus"
    folder.mkdir()
    x, _ = sf.read(DEMO_DIR / f"{SUBSET[0]}.flac", dtype="float32")
    sf.write(folder / "a.wav", resample_poly(x, 147, 160).astype(np.float32), 44100)
    for rate in (44100, 48000):
        r = run_bench("run", "--systems", "natural", "--data", f"folder:{folder}", "--out", str(tmp_path / f"r{rate}"),
                      "--metrics", "si_sdr", "--sample-rate", str(rate), "--no-report", "--workers", "1")
        assert r.returncode == 0, r.stderr
        ref = sf.info(tmp_path / f"r{rate}" / "reference" / "a.wav")
        assert ref.samplerate == rate
        said = "resampled 1 of 1 inputs to 48000 Hz (1 from 44100 Hz"
        assert (said in r.stderr) == (rate == 48000)
