"""The files adapter, lag estimation, and the metric failure policy (NaN with a reason, never a stand-in)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf
from conftest import read_rows, run_bench

from bench.alignment import estimate_lag, shift
from bench.corpora import DEMO_DIR


def _speech():
    x, sr = sf.read(DEMO_DIR / "demo_f_001.flac", dtype="float32")
    return x, sr


@pytest.mark.parametrize("lag", [-250, -3, 0, 1, 312, 900])
def test_estimate_lag_finds_a_known_delay(lag):
    x, _ = _speech()
    y = np.roll(x, lag)
    assert estimate_lag(x, y, 960) == lag
    if lag:
        aligned = shift(y, lag)
        inner = slice(1000, len(x) - 1000)
        assert np.allclose(aligned[inner], x[inner])


def test_files_adapter_aligns_crops_and_reports_missing(tmp_path):
    x, sr = _speech()
    outputs = tmp_path / "outs"
    outputs.mkdir()
    # 40 ms late and 0.2 s longer, at 24 kHz: aligned, cropped, resampled
    import soxr

    delayed = np.concatenate([np.zeros(1920, np.float32), x, np.zeros(7680, np.float32)])
    sf.write(outputs / "demo_f_001.wav", soxr.resample(delayed, 48000, 24000), 24000, subtype="FLOAT")
    sf.write(outputs / "demo_m_001.wav", np.concatenate([x, np.zeros(48000, np.float32)]), sr)  # +1 s: too long
    manifest = tmp_path / "m.csv"
    manifest.write_text("id,path,speaker\n" + "".join(
        f"{u},{DEMO_DIR / (u + '.flac')},{u[:6]}\n" for u in ("demo_f_001", "demo_m_001", "demo_f_002")))
    out = tmp_path / "run"
    r = run_bench("run", "--systems", "files:mine=" + str(outputs), "--data", f"manifest:{manifest}",
                  "--out", str(out), "--metrics", "si_sdr", "--no-report", "--workers", "1")
    assert r.returncode == 0, r.stderr
    rows = read_rows(out / "results.csv")
    by_utt = {x["utterance"]: x for x in rows if x["metric"] == "si_sdr"}
    assert float(by_utt["demo_f_001"]["value"]) > 20  # band-limited by the 24 kHz round trip, but aligned
    assert "more than 0.5 s" in by_utt["demo_m_001"]["error"] and "demo_m_001.wav" in by_utt["demo_m_001"]["error"]
    assert "no output for utterance 'demo_f_002'" in by_utt["demo_f_002"]["error"]
    import json

    side = json.loads((out / "audio" / "files_mine" / "demo_f_001.json").read_text())
    assert side["info"]["offset_samples"] == 1920 and side["info"]["resampled"] is True


def test_metric_failures_are_nan_with_reason():
    from bench.evaluate import get_metric
    from metrics import MetricError

    short = np.random.default_rng(0).normal(0, 0.1, 1600).astype(np.float32)  # 0.1 s at 16 kHz
    with pytest.raises(MetricError, match="too short for PESQ"):
        get_metric("pesq_wb").compute(reference=short, degraded=short, sample_rate=16000)
    silent = np.zeros(48000, np.float32)
    for name in ("si_sdr", "snr", "lsd", "phase_distance", "mcd", "mel_distance"):
        with pytest.raises(MetricError, match="silent"):
            get_metric(name).compute(reference=silent, degraded=silent + 0.1, sample_rate=48000)
    quiet = np.zeros(10000, np.float32)
    quiet[:200] = 0.1  # almost no speech: pystoi would return 1e-5
    with pytest.raises(MetricError, match="too few"):
        get_metric("stoi").compute(reference=quiet, degraded=quiet, sample_rate=10000)


def test_evaluate_pair_records_failures_instead_of_raising(tmp_path):
    from bench.evaluate import PairJob, evaluate_pair

    ref = np.random.default_rng(0).normal(0, 0.1, 4800).astype(np.float32)  # 0.1 s
    sf.write(tmp_path / "r.wav", ref, 48000, subtype="FLOAT")
    sf.write(tmp_path / "d.wav", ref, 48000, subtype="FLOAT")
    job = PairJob("u", "s", "sys", str(tmp_path / "r.wav"), str(tmp_path / "d.wav"), ("pesq_wb", "si_sdr"),
                  1200.0, 0.1, True, True, None, 960)
    rows = {r.metric: r for r in evaluate_pair(job)}
    assert math.isnan(rows["pesq_wb"].value) and "too short" in rows["pesq_wb"].error
    assert rows["si_sdr"].value == 100.0 and rows["si_sdr"].error == ""
    assert rows["bitrate_kbps"].value == pytest.approx(12.0) and rows["lag_samples"].value == 0


def test_phase_distance_sees_phase_and_lsd_does_not():
    from bench.evaluate import get_metric

    x, _ = _speech()
    spec = np.fft.rfft(x)
    rng = np.random.default_rng(0)
    scrambled = np.fft.irfft(np.abs(spec) * np.exp(1j * rng.uniform(-np.pi, np.pi, len(spec))), len(x))
    flipped = -x
    pd = get_metric("phase_distance")
    assert pd.compute(reference=x, degraded=x, sample_rate=48000) < 1e-12
    assert pd.compute(reference=x, degraded=flipped, sample_rate=48000) == pytest.approx(np.pi, abs=1e-6)
    assert pd.compute(reference=x, degraded=scrambled.astype(np.float32), sample_rate=48000) > 1.0
    si = get_metric("si_sdr")
    assert si.compute(reference=x, degraded=0.5 * x, sample_rate=48000) == 100.0  # scale-invariant


def test_unknown_metric_and_system_are_usage_errors(tmp_path):
    r = run_bench("run", "--systems", "natural", "--data", "demo", "--out", str(tmp_path / "o"),
                  "--metrics", "pesq_wbb")
    assert r.returncode == 2 and "pesq_wbb" in r.stderr and "pesq_wb" in r.stderr
    r = run_bench("run", "--systems", "opsu", "--data", "demo", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "opsu" in r.stderr and "did you mean opus" in r.stderr
    r = run_bench("run", "--systems", "natural", "--data", "demo", "--out", str(tmp_path / "o"), "--limit", "0")
    assert r.returncode == 2 and "--limit" in r.stderr


def test_registry_rejects_duplicates_and_lists_lazily():
    from bench.registry import Registry, RegistryError

    reg: Registry[object] = Registry("thing")
    reg.register("a", "json:dumps", aliases=("alpha",))
    with pytest.raises(RegistryError, match="already registered"):
        reg.register("alpha", "json:loads")
    import json

    assert reg.names() == ["a"] and reg.get("alpha") is json.dumps


def test_systems_and_metrics_listing():
    r = run_bench("systems")
    assert r.returncode == 0
    lines = {ln.split()[0]: ln for ln in r.stdout.splitlines() if ln and not ln.startswith(" ")}
    assert " ok " in lines["opus"] and " ok " in lines["natural"]
    r = run_bench("metrics")
    assert r.returncode == 0 and "visqol_speech" in r.stdout and "polynomial" in r.stdout
