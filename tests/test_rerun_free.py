"""Rerunning a finished run recomputes nothing: not the outputs, not the metrics, not the report, and not the
Opus/LC3 residual-delay measurements (kept in the run folder)."""

from __future__ import annotations

import json

from conftest import need_libopus, run_bench


def test_a_finished_rerun_rebuilds_no_report_and_measures_no_delay(tmp_path):
    need_libopus()
    out = tmp_path / "run"
    args = ["run", "--systems", "natural,opus@6k", "--data", "demo", "--limit", "1", "--metrics", "si_sdr",
            "--workers", "1", "--out", str(out)]
    r = run_bench(*args, "--quiet")
    assert r.returncode == 0, r.stderr
    index = out / "report" / "index.html"
    built = index.stat().st_mtime_ns
    r = run_bench(*args)  # the same run, now with progress output: nothing to compute, nothing to draw
    assert r.returncode == 0, r.stderr
    assert "(unchanged)" in r.stdout and index.stat().st_mtime_ns == built
    # the residual delay of opus@6k was measured once and kept; a rerun reads it instead of coding speech
    delays = json.loads((out / "codec_delays.json").read_text())
    (key,) = [k for k in delays if k.startswith("opus | ") and "| 6000 bit/s |" in k]
    measured = json.loads((out / "run.json").read_text())["systems"]["opus@6k"]["provenance"]["residual_delay_samples"]
    assert delays[key] == measured
    (out / "codec_delays.json").write_text(json.dumps({key: measured + 7.5}))
    r = run_bench(*args, "--no-report")
    assert r.returncode == 0, r.stderr
    record = json.loads((out / "run.json").read_text())["systems"]["opus@6k"]["provenance"]
    assert record["residual_delay_samples"] == measured + 7.5
