"""Bitrates of ``files:`` outputs: nominal (``files:NAME@6k=DIR``), per utterance from bitrates.csv/json,
and several folders of one codec as one rate-quality curve."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import soundfile as sf
from conftest import demo_manifest, read_rows, run_bench

from bench.corpora import DEMO_DIR
from systems import RunSettings, build_system

UTTS = ["demo_f_001", "demo_m_001"]


def _outputs(folder, snr_db: float) -> dict[str, float]:
    """Noisy copies of UTTS at ``snr_db`` in ``folder``; returns each utterance's duration in seconds."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(int(snr_db))
    durations = {}
    for u in UTTS:
        x, sr = sf.read(DEMO_DIR / f"{u}.flac", dtype="float32")
        noise = rng.standard_normal(len(x)).astype(np.float32)
        noise *= np.sqrt(np.mean(x**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
        sf.write(folder / f"{u}.wav", x + noise, sr, subtype="FLOAT")
        durations[u] = len(x) / sr
    return durations


def test_names_families_and_nominal_rates(tmp_path):
    settings = RunSettings()
    cases = {
        f"files:toy@6k={tmp_path}": ("files:toy@6k", "files:toy", 6.0),
        f"files:toy={tmp_path}[kbps=12]": ("files:toy@12k", "files:toy", 12.0),
        f"files:toy={tmp_path}[frame_rate=75,codebooks=8]": ("files:toy[frame_rate=75,codebooks=8]", "files:toy", 6.0),
        f"files:toy={tmp_path}": ("files:toy", "files:toy", None),
        f"files:toy@6k={tmp_path}+spf": ("files:toy@6k+spf", "files:toy+spf", 6.0),
    }
    for spec, (name, family, kbps) in cases.items():
        s = build_system(spec, settings)
        assert (s.name, s.family, s.nominal_kbps) == (name, family, kbps), spec


def test_bad_bitrate_files_are_refused_naming_the_file(tmp_path):
    (tmp_path / "bitrates.csv").write_text("id,bytes\nx,3\n")
    with pytest.raises(ValueError, match=r"bitrates\.csv: the header must have an id column and one of bits, kbps"):
        build_system(f"files:toy={tmp_path}", RunSettings())
    (tmp_path / "bitrates.csv").write_text("id,bits\nx,3\ny,lots\n")
    with pytest.raises(ValueError, match=r"bitrates\.csv: line 3: bits is not a number: 'lots'"):
        build_system(f"files:toy={tmp_path}", RunSettings())


def test_three_bitrates_of_one_codec_are_one_curve(tmp_path):
    durations = _outputs(tmp_path / "low", 5)
    _outputs(tmp_path / "mid", 15)
    _outputs(tmp_path / "high", 30)
    # per utterance: bits (CSV), kbps (JSON); the third folder only declares its nominal rate
    with open(tmp_path / "low" / "bitrates.csv", "w", newline="") as f:
        f.write("id,bits\n" + "".join(f"{u},{round(5800 * durations[u])}\n" for u in UTTS))
    (tmp_path / "mid" / "bitrates.json").write_text(json.dumps({"demo_f_001": {"kbps": 11.5},
                                                                "demo_m_001": {"kbps": 12.5}}))
    manifest = demo_manifest(tmp_path / "m.csv", UTTS)
    out = tmp_path / "run"
    systems = [f"files:toy@24k={tmp_path / 'high'}", f"files:toy@6k={tmp_path / 'low'}",
               f"files:toy={tmp_path / 'mid'}[kbps=12]", "natural"]
    r = run_bench("run", "--systems", ",".join(systems), "--data", f"manifest:{manifest}", "--out", str(out),
                  "--metrics", "si_sdr", "--workers", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    rate = {(x["system"], x["utterance"]): float(x["value"]) for x in read_rows(out / "results.csv")
            if x["metric"] == "bitrate_kbps"}
    for u in UTTS:
        assert rate["files:toy@6k", u] == pytest.approx(round(5800 * durations[u]) / durations[u] / 1000)
        assert rate["files:toy@24k", u] == pytest.approx(24.0)
    assert rate["files:toy@12k", "demo_f_001"] == pytest.approx(11.5)
    assert rate["files:toy@12k", "demo_m_001"] == pytest.approx(12.5)
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["systems"]["files:toy@6k"]["nominal_kbps"] == 6.0
    assert run_json["systems"]["files:toy@6k"]["family"] == "files:toy"
    with open(out / "report" / "ratequality.csv", newline="") as fh:
        rows = [x for x in csv.DictReader(fh) if x["metric"] == "si_sdr"]
    assert [(x["family"], x["system"]) for x in rows] == [
        ("files:toy", "files:toy@6k"), ("files:toy", "files:toy@12k"), ("files:toy", "files:toy@24k")]
    sdr = [float(x["mean"]) for x in rows]
    assert sdr[0] < sdr[1] < sdr[2]


def test_a_missing_row_costs_that_utterance_only(tmp_path):
    _outputs(tmp_path / "low", 5)
    (tmp_path / "low" / "bitrates.csv").write_text("id,kbps\ndemo_f_001,6.1\n")
    codec = build_system(f"files:toy@6k={tmp_path / 'low'}", RunSettings())
    x, _ = sf.read(DEMO_DIR / "demo_f_001.flac", dtype="float32")
    assert codec.process(x, utterance_id="demo_f_001").bits == pytest.approx(6100 * len(x) / 48000)
    y, _ = sf.read(DEMO_DIR / "demo_m_001.flac", dtype="float32")
    with pytest.raises(ValueError, match=r"bitrates\.csv: no row for utterance 'demo_m_001'"):
        codec.process(y, utterance_id="demo_m_001")
