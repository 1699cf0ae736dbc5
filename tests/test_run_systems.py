"""Natural, Opus and the anchors on real demo speech, through the whole runner."""

from __future__ import annotations

import json
import math

import numpy as np
import soundfile as sf
from conftest import SUBSET, read_rows, values
from scipy import signal


def test_natural_is_perfect(demo_run):
    rows = read_rows(demo_run / "results.csv")
    assert min(values(rows, "natural", "pesq_wb")) >= 4.5
    assert min(values(rows, "natural", "stoi")) >= 0.999
    assert max(values(rows, "natural", "phase_distance")) <= 0.01
    # identical signals: SI-SDR is infinite, reported at the documented 100 dB cap
    assert min(values(rows, "natural", "si_sdr")) >= 60


def test_opus_length_bitrate_lag_quality(demo_run):
    rows = read_rows(demo_run / "results.csv")
    for utt in SUBSET:
        ref = sf.info(demo_run / "reference" / f"{utt}.wav")
        out = sf.info(demo_run / "audio" / "opus" / f"{utt}.wav")
        assert out.frames == ref.frames and out.samplerate == 48000
    kbps = values(rows, "opus", "bitrate_kbps")
    assert len(kbps) == len(SUBSET) and all(23.0 <= k <= 25.0 for k in kbps), kbps
    lags = values(rows, "opus", "lag_samples")
    assert all(abs(x) <= 3 for x in lags), lags
    assert min(values(rows, "opus", "si_sdr")) >= 5.0
    pesq = values(rows, "opus", "pesq_wb")
    assert all(3.0 <= p <= 4.5 for p in pesq), pesq


def test_opus_is_deterministic_and_records_libopus(demo_run, tmp_path):
    from systems import RunSettings, build_system

    opus = build_system("opus", RunSettings())
    x, _ = sf.read(demo_run / "reference" / "demo_f_001.wav", dtype="float32")
    a = opus.process(x, utterance_id="demo_f_001").audio
    b = opus.process(x, utterance_id="demo_f_001").audio
    stored, _ = sf.read(demo_run / "audio" / "opus" / "demo_f_001.wav", dtype="float32")
    assert np.array_equal(a, b) and np.array_equal(a, stored)
    run = json.loads((demo_run / "run.json").read_text())
    assert run["versions"]["libopus"].startswith("libopus ")
    assert run["systems"]["opus"]["provenance"]["lookahead_samples"] == 312


def test_anchor_filters_meet_the_bs1534_mask():
    from systems.anchors import anchor_taps

    for edge in (3500.0, 7000.0):
        taps = anchor_taps(edge)
        assert len(taps) % 2 == 1  # odd: the delay removed exactly, zero phase
        w, h = signal.freqz(taps, worN=1 << 16, fs=48000)
        db = 20 * np.log10(np.abs(h) + 1e-300)
        scale = edge / 3500.0
        assert np.all(np.abs(db[w <= edge]) <= 0.1)
        assert np.all(db[w >= 4000 * scale] <= -25)
        assert np.all(db[w >= 4500 * scale] <= -50)


def test_anchors_are_zero_phase_and_ordered_by_lsd(demo_run):
    rows = read_rows(demo_run / "results.csv")
    assert all(x == 0 for x in values(rows, "anchor35", "lag_samples") + values(rows, "anchor70", "lag_samples"))
    lsd = {s: float(np.mean(values(rows, s, "lsd"))) for s in ("natural", "anchor35", "anchor70")}
    assert lsd["anchor35"] > lsd["anchor70"] > lsd["natural"]


def test_anchor_is_time_aligned_with_a_tone():
    from systems import RunSettings, build_system

    t = np.arange(48000) / 48000
    x = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    y = build_system("anchor35", RunSettings()).process(x, utterance_id="tone").audio
    mid = slice(10000, 38000)
    assert np.max(np.abs(y[mid] - x[mid])) < 1e-3  # passband: same waveform, no delay


def test_summary_matches_results(demo_run):
    from bench.stats import mean_ci

    rows = read_rows(demo_run / "results.csv")
    summary = {(r["system"], r["metric"]): r for r in read_rows(demo_run / "summary.csv")}
    v = np.array(values(rows, "opus", "pesq_wb"))
    s = summary[("opus", "pesq_wb")]
    assert int(s["n"]) == len(v) and int(s["n_failed"]) == 0
    assert math.isclose(float(s["mean"]), v.mean(), rel_tol=1e-12)
    half = float(s["mean"]) - float(s["ci95_low"])
    # t(0.975, 3) = 3.182: the CI is the t interval, not a normal one
    assert math.isclose(half, 3.182446305284263 * v.std(ddof=1) / math.sqrt(len(v)), rel_tol=1e-9)
    assert s["higher_is_better"] == "true" and summary[("opus", "lsd")]["higher_is_better"] == "false"
    assert mean_ci(v)[0] == v.mean()


def test_every_key_once_and_extra_rows(demo_run):
    rows = read_rows(demo_run / "results.csv")
    keys = [(r["utterance"], r["system"], r["metric"]) for r in rows]
    assert len(keys) == len(set(keys))
    n_metrics = 5 + 2 + 2  # FAST_METRICS + bitrate_kbps + lag_samples + si_sdr_raw, phase_distance_raw
    assert len(rows) == 4 * len(SUBSET) * n_metrics
    nat_bitrate = [r for r in rows if r["system"] == "natural" and r["metric"] == "bitrate_kbps"]
    assert all(r["value"] == "nan" and r["error"].startswith("n/a") for r in nat_bitrate)


def test_run_json_provenance(demo_run):
    run = json.loads((demo_run / "run.json").read_text())
    assert run["status"] == "complete" and run["format_version"] == 1
    for key in ("numpy", "torch", "pesq", "pystoi", "visqol-python", "libopus", "codec-bench"):
        assert key in run["versions"]
    items = {i["id"]: i for i in run["corpus"]["items"]}
    assert set(items) == set(SUBSET) and all(len(i["sha256"]) == 64 for i in items.values())
    assert run["metrics"]["pesq_wb"]["version"] and run["metrics"]["pesq_wb"]["sample_rate"] == 16000
    assert run["config"]["align"] == "system" and run["config"]["max_lag_ms"] == 20.0
