"""One alignment policy (bench.alignment): --align system|utterance|none, the files: adapter, raw metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from conftest import read_rows, run_bench, values

from bench.alignment import (
    align_arrays,
    coarse_correlation,
    correlate,
    estimate_lag,
    fine_correlation,
    fine_lags,
)
from bench.corpora import DEMO_DIR

UTTS = ["demo_f_001", "demo_f_002", "demo_m_001"]


def _speech(utt: str) -> np.ndarray:
    x, sr = sf.read(DEMO_DIR / f"{utt}.flac", dtype="float32")
    assert sr == 48000
    return x


def _late(x: np.ndarray, lag: int) -> np.ndarray:
    return np.concatenate([np.zeros(lag, np.float32), x[: len(x) - lag]])


def test_inverted_outputs_get_their_true_delay_from_the_system_search_only():
    """Per utterance, the highest positive peak of a polarity-inverted output is a pitch side lobe."""
    refs = {u: _speech(u) for u in UTTS}
    outs = {u: -_late(x, 37) for u, x in refs.items()}
    per_utt = [estimate_lag(refs[u], outs[u], 960) for u in UTTS]
    assert all(lag != 37 for lag in per_utt), per_utt
    sl = align_arrays({u: (refs[u], outs[u]) for u in UTTS}, 960)
    assert (sl.lag, sl.n, sl.flag) == (37, 3, "negative") and sl.peak < -0.95
    # the sums are taken in id order: the result does not depend on the order results arrive in
    assert align_arrays({u: (refs[u], outs[u]) for u in reversed(UTTS)}, 960) == sl
    rng = np.random.default_rng(0)
    weak = align_arrays({u: (x, rng.normal(0, 0.1, len(x)).astype(np.float32)) for u, x in refs.items()}, 960)
    assert weak.flag == "weak" and abs(weak.peak) < 0.3


@pytest.mark.parametrize("lag", [-957, -250, -3, 0, 1, 2, 312, 900])
def test_coarse_to_fine_search_finds_the_peak_of_the_full_correlation(lag):
    """The system search (decimated, then 48 kHz near the peak) agrees with the full 48 kHz correlation."""
    pairs = {u: (x, np.roll(x, lag) * 0.5 + np.random.default_rng(1).normal(0, 0.01, len(x)).astype(np.float32))
             for u, x in ((u, _speech(u)) for u in UTTS)}
    total = sum((correlate(r, d, 960).values for r, d in pairs.values()), np.zeros(1921))
    assert int(np.argmax(np.abs(total))) - 960 == lag
    assert align_arrays(pairs, 960).lag == lag
    # the fine values are the 48 kHz correlation itself
    r, d = pairs[UTTS[0]]
    lags = fine_lags({UTTS[0]: coarse_correlation(r, d, 960)}, 960)
    assert lag in lags
    assert np.allclose(fine_correlation(r, d, lags), correlate(r, d, 960).values[lags + 960], rtol=1e-4, atol=1e-3)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Three demo utterances, and outputs made elsewhere: 100 samples late, and inverted and 37 late."""
    d = tmp_path_factory.mktemp("align")
    manifest = d / "m.csv"
    manifest.write_text("id,path,speaker\n" + "".join(f"{u},{DEMO_DIR / (u + '.flac')},{u[:6]}\n" for u in UTTS))
    for name, fn in {"late": lambda x: _late(x, 100), "inv": lambda x: -_late(x, 37)}.items():
        (d / name).mkdir()
        for u in UTTS:
            sf.write(d / name / f"{u}.wav", fn(_speech(u)), 48000, subtype="FLOAT")
    return d, manifest


def _run(corpus, out, *extra):
    d, manifest = corpus
    r = run_bench("run", "--systems", f"files:late={d / 'late'},files:inv={d / 'inv'}", "--data",
                  f"manifest:{manifest}", "--out", str(out), "--metrics", "si_sdr,snr", "--workers", "1",
                  "--no-report", *extra)
    assert r.returncode == 0, r.stderr
    return r, read_rows(out / "results.csv"), json.loads((out / "run.json").read_text())


def test_system_alignment_is_one_lag_per_system_stored_and_flagged(corpus, tmp_path):
    r, rows, info = _run(corpus, tmp_path / "run")
    assert info["config"]["align"] == "system"
    assert values(rows, "files:late", "lag_samples") == [100.0] * 3
    assert values(rows, "files:inv", "lag_samples") == [37.0] * 3
    assert min(values(rows, "files:late", "si_sdr")) > 40
    assert max(values(rows, "files:late", "si_sdr_raw")) < 10  # what misalignment costs
    assert max(values(rows, "files:late", "snr_raw")) < 10
    late, inv = (info["systems"][s]["alignment"] for s in ("files:late", "files:inv"))
    assert (late["lag"], late["flag"], late["n"]) == (100, "", 3) and late["peak"] > 0.99
    assert (inv["lag"], inv["flag"]) == (37, "negative") and inv["peak"] < -0.99
    assert "warning: files:inv: correlation peak -1.00 at lag 37" in r.stderr
    assert "files:late: correlation" not in r.stderr

    from reports.rundata import load_run
    from reports.tables import table_notes

    notes = table_notes(load_run(tmp_path / "run"), ())
    assert any(n.startswith("Flag: files:inv") for n in notes)
    assert not any(n.startswith("Flag: files:late") for n in notes)
    assert any("one lag per system" in n for n in notes)


def test_utterance_and_none_modes(corpus, tmp_path):
    _, rows, _ = _run(corpus, tmp_path / "utt", "--align", "utterance")
    assert values(rows, "files:late", "lag_samples") == [100.0] * 3
    assert any(v != 37.0 for v in values(rows, "files:inv", "lag_samples"))  # side lobes, per utterance
    _, rows, info = _run(corpus, tmp_path / "none", "--no-align")
    assert info["config"]["align"] == "none"
    assert values(rows, "files:late", "lag_samples") == [0.0] * 3
    assert values(rows, "files:late", "si_sdr") == values(rows, "files:late", "si_sdr_raw")
    assert info["systems"]["files:late"]["alignment"] is None


def test_files_adapter_only_matches_lengths_under_align_none(tmp_path):
    x = _speech("demo_f_001")
    outs = tmp_path / "outs"
    outs.mkdir()
    sf.write(outs / "demo_f_001.wav", np.concatenate([np.zeros(1920, np.float32), x]), 48000, subtype="FLOAT")
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"id,path,speaker\ndemo_f_001,{DEMO_DIR / 'demo_f_001.flac'},f\n")
    for mode, offset in [("none", 0), ("system", 1920)]:
        out = tmp_path / mode
        r = run_bench("run", "--systems", f"files:mine={outs}", "--data", f"manifest:{manifest}", "--out",
                      str(out), "--metrics", "si_sdr", "--workers", "1", "--no-report", "--align", mode)
        assert r.returncode == 0, r.stderr
        side = json.loads((out / "audio" / "files_mine" / "demo_f_001.json").read_text())
        assert side["info"]["offset_samples"] == offset and side["info"]["length_diff_samples"] == 1920
        y, _ = sf.read(out / "audio" / "files_mine" / "demo_f_001.wav", dtype="float32")
        if mode == "none":  # cropped at the end, nothing shifted
            assert np.array_equal(y[1920:], x[:-1920]) and not np.any(y[:1920])
        else:  # the same search, widened by the length difference; lag_samples holds the total compensated
            assert np.array_equal(y, x)
            assert values(read_rows(out / "results.csv"), "files:mine", "lag_samples") == [1920.0]


def test_merged_shards_keep_each_lag_and_flag_disagreement():
    from bench.merge import _merged_alignment

    a = {"mode": "system", "lag": 3, "peak": 0.9, "n": 2, "max_lag": 960, "utterances_sha256": "a", "flag": ""}
    b = {**a, "peak": 0.8, "n": 3, "utterances_sha256": "b"}
    same = _merged_alignment([a, b, None])
    assert (same["lag"], same["peak"], same["n"], same["flag"]) == (3, 0.8, 5, "") and same["parts"] == [a, b]
    assert _merged_alignment([{**a, "lag": 4}, b])["flag"] == "lags differ between merged parts: 4, 3"
    assert _merged_alignment([None, None]) is None
