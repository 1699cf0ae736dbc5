"""A run killed with SIGKILL at any moment and rerun ends with exactly the rows of an uninterrupted run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest
from conftest import REPO, bench_cmd, demo_manifest, need_libopus, read_rows, run_bench

ARGS = ["--systems", "natural,opus,anchor35", "--metrics", "pesq_wb,stoi,si_sdr,lsd", "--workers", "2",
        "--no-report"]


def _rowset(path):
    return {tuple(r.values()) for r in read_rows(path)}


def _kill_when(cmd, predicate, timeout=120.0):
    """Start ``cmd``; SIGKILL its whole process group as soon as ``predicate()`` holds."""
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    t0 = time.monotonic()
    while proc.poll() is None and time.monotonic() - t0 < timeout:
        if predicate():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.02)
    proc.wait()
    return False


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    need_libopus()
    d = tmp_path_factory.mktemp("durability")
    return demo_manifest(d / "m.csv", ["demo_f_001", "demo_f_002", "demo_f_003", "demo_m_001", "demo_m_002",
                                       "demo_m_003"])


@pytest.fixture(scope="module")
def uninterrupted(manifest, tmp_path_factory):
    """The folder of a run that was not interrupted (read-only: copy it to change it)."""
    out = tmp_path_factory.mktemp("clean") / "run"
    r = run_bench("run", "--data", f"manifest:{manifest}", "--out", str(out), *ARGS)
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.parametrize("moment", ["system_stage", "metric_stage"])
def test_sigkill_and_resume_gives_the_same_rows(moment, manifest, uninterrupted, tmp_path):
    out = tmp_path / "run"
    log = out / "results.jsonl"
    if moment == "system_stage":
        def ready():  # some opus outputs exist, metrics not started
            d = out / "audio" / "opus"
            return d.exists() and len(list(d.glob("*.json"))) >= 2
    else:
        def ready():  # some result lines are committed, not all
            return log.exists() and log.stat().st_size > 0

    killed = _kill_when(bench_cmd("run", "--data", f"manifest:{manifest}", "--out", str(out), *ARGS), ready)
    assert killed, "the run finished before it could be killed"
    assert not (out / "results.csv").exists()
    r = run_bench("run", "--data", f"manifest:{manifest}", "--out", str(out), *ARGS)
    assert r.returncode == 0, r.stderr
    rows = read_rows(out / "results.csv")
    keys = [(x["utterance"], x["system"], x["metric"]) for x in rows]
    assert len(keys) == len(set(keys)), "a row was stored twice"
    assert _rowset(out / "results.csv") == _rowset(uninterrupted / "results.csv")


def test_rerun_recomputes_nothing(manifest, uninterrupted, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(uninterrupted, out)  # a finished run (file times kept)
    log = (out / "results.jsonl").read_bytes()
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "audio").rglob("*.wav")}
    r = run_bench("run", "--data", f"manifest:{manifest}", "--out", str(out), *ARGS)
    assert r.returncode == 0
    assert (out / "results.jsonl").read_bytes() == log
    assert {p: p.stat().st_mtime_ns for p in (out / "audio").rglob("*.wav")} == mtimes


def test_torn_last_line_is_dropped(tmp_path):
    import math

    from bench.runfolder.results import ResultStore, Row

    path = tmp_path / "results.jsonl"
    s = ResultStore(path)
    s.add([Row("u1", "s", "sys", "m", 1.5), Row("u2", "s", "sys", "m", math.nan, "why")])
    s.close()
    with open(path, "a") as f:
        f.write('{"utterance": "u3", "speaker": "s", "sys')  # a kill in the middle of a write
    s2 = ResultStore(path)
    assert set(s2.rows) == {("u1", "sys", "m"), ("u2", "sys", "m")}
    assert s2.rows[("u2", "sys", "m")].error == "why" and math.isnan(s2.rows[("u2", "sys", "m")].value)
    s2.add([Row("u3", "s", "sys", "m", 2.0)])
    s2.close()
    assert len(ResultStore(path).rows) == 3
    assert all(line.startswith("{") for line in path.read_text().splitlines())


def test_different_settings_are_refused(manifest, tmp_path):
    out = tmp_path / "run"
    base = ["run", "--data", f"manifest:{manifest}", "--out", str(out), "--systems", "natural",
            "--metrics", "si_sdr", "--limit", "1", "--no-report"]
    assert run_bench(*base).returncode == 0
    r = run_bench(*base, "--no-align")
    assert r.returncode == 2 and "align" in r.stderr
