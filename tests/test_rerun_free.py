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


def test_bench_systems_checks_every_system_without_importing_torch():
    """`bench systems` checks each system (installed libraries, weights files) without importing torch or
    scipy.signal, so it answers in well under a second on an idle machine (`make bench` measures it)."""
    import subprocess
    import sys

    from conftest import REPO

    code = ("import contextlib, io, sys\nfrom bench.cli import main\nout = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n    main(['systems'])\n"
            "print(sorted(m for m in ('torch', 'scipy.signal', 'matplotlib') if m in sys.modules))\n"
            "print(out.getvalue().count(' ok '))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    imported, ok = r.stdout.strip().splitlines()[-2:]
    assert imported == "[]"
    assert int(ok) >= 6  # natural, opus, lc3, anchors, files, the AudioDec systems with the demo weights ...
