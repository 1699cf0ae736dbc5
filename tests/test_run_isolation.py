"""A metric that kills its process costs one row, never the run; long files are scored or refused with a reason;
workers never outlive a killed ``bench run``."""

from __future__ import annotations

import faulthandler
import importlib.util
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import REPO, bench_cmd, install_plugin, read_rows

#: a metric plugin registered like a real one; it kills its own process on one input (chosen by length)
PLUGIN = '''
import os, signal, time
import numpy as np
from metrics.base import Metric, MetricSpec
from systems.base import System, SystemOutput


class Crashy(Metric):
    spec = MetricSpec("crashy", True, 48000, description="dies on one input (test plugin)")

    def compute(self, *, reference, degraded, sample_rate):
        if len(reference) == int(os.environ["CRASHY_SAMPLES"]):
            if os.environ["CRASHY_HOW"] == "abort":
                os.abort()
            os.kill(os.getpid(), signal.SIGSEGV)
        return float(np.mean(np.abs(reference)))


class CrashCodec(System):
    """A native codec stand-in that kills its process on one input (chosen by length)."""

    kind = "crashcodec"
    description = "dies on one input (test plugin)"
    isolated = True

    def process(self, audio, *, utterance_id):
        if len(audio) == int(os.environ["CRASHY_SAMPLES"]):
            os.kill(os.getpid(), signal.SIGSEGV)
        return SystemOutput(np.asarray(audio, dtype=np.float32) * 0.5, 1000.0, {})


class Sleepy(Metric):
    spec = MetricSpec("sleepy", True, 48000, description="takes its time (test plugin)")

    def compute(self, *, reference, degraded, sample_rate):
        time.sleep(120)
        return 0.0
'''


def _plugin_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = install_plugin(tmp_path / "site", "crashplugin", PLUGIN, textwrap.dedent("""\
        [codec_bench.metrics]
        crashy = crashplugin:Crashy
        sleepy = crashplugin:Sleepy
        [codec_bench.systems]
        crashcodec = crashplugin:CrashCodec
        """))
    return {**env, **extra}


def _demo_samples(uid: str) -> int:
    from bench.corpora import DEMO_DIR

    return sf.info(str(DEMO_DIR / f"{uid}.flac")).frames  # demo files are 48 kHz, like the references


@pytest.mark.parametrize(("how", "workers", "executor", "signame"), [
    ("abort", "1", "local", "SIGABRT"),
    ("segv", "2", "local", "SIGSEGV"),
    ("segv", "2", "ray", "died (Ray"),
])
def test_a_metric_that_kills_its_process_costs_one_row(tmp_path, how, workers, executor, signame):
    if executor == "ray" and importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (pip install 'codec-bench[ray]')")
    env = _plugin_env(tmp_path, CRASHY_SAMPLES=str(_demo_samples("demo_f_002")), CRASHY_HOW=how)
    out = tmp_path / "run"
    r = subprocess.run(bench_cmd("run", "--systems", "natural", "--data", "demo", "--limit", "3", "--metrics",
                                 "crashy,si_sdr", "--out", str(out), "--no-report", "--workers", workers,
                                 "--executor", executor),
                       capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    rows = {(x["utterance"], x["metric"]): x for x in read_rows(out / "results.csv")}
    utts = ["demo_f_001", "demo_f_002", "demo_m_001"]  # --limit 3: round-robin over the two voices
    assert set(rows) == {(u, m) for u in utts
                         for m in ("crashy", "si_sdr", "si_sdr_raw", "bitrate_kbps", "lag_samples")}
    bad = rows[("demo_f_002", "crashy")]
    assert math.isnan(float(bad["value"]))
    assert signame in bad["error"] and "audio/natural/demo_f_002.wav" in bad["error"]
    failed = [k for k, x in rows.items() if x["error"] and k[1] != "bitrate_kbps"]
    assert failed == [("demo_f_002", "crashy")]  # every other row was computed, the crashed pair's too
    assert float(rows[("demo_f_002", "si_sdr")]["value"]) > 90  # natural == reference
    assert signame in r.stderr


def test_a_native_codec_that_kills_its_process_costs_one_utterance(tmp_path):
    """An ``isolated`` system runs in a forked worker: the batch that crashed is retried one utterance at a
    time, the utterance that kills its worker fails with the signal, the others and the run go on."""
    env = _plugin_env(tmp_path, CRASHY_SAMPLES=str(_demo_samples("demo_f_002")), CRASHY_HOW="segv")
    out = tmp_path / "run"
    r = subprocess.run(bench_cmd("run", "--systems", "crashcodec,anchor70", "--data", "demo", "--limit", "3",
                                 "--metrics", "si_sdr", "--batch-size", "4", "--out", str(out), "--no-report"),
                       capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    rows = {(x["system"], x["utterance"], x["metric"]): x for x in read_rows(out / "results.csv")}
    for uid in ("demo_f_001", "demo_m_001"):
        assert float(rows[("crashcodec", uid, "si_sdr")]["value"]) > 90  # a scaled copy of the input
        assert float(rows[("crashcodec", uid, "bitrate_kbps")]["value"]) > 0
    bad = rows[("crashcodec", "demo_f_002", "si_sdr")]
    assert math.isnan(float(bad["value"])) and "SIGSEGV" in bad["error"], bad
    assert math.isfinite(float(rows[("anchor70", "demo_f_002", "si_sdr")]["value"]))  # the next system ran


def test_a_long_file_does_not_stop_the_run(tmp_path):
    """A 4-minute speech file (PESQ crashed on it) next to short ones: every other row is computed."""
    from bench.corpora import DEMO_DIR

    data = tmp_path / "data"
    data.mkdir()
    speech = [sf.read(str(DEMO_DIR / f"demo_m_00{i}.flac"))[0] for i in range(1, 5)]
    gap = np.zeros(24000)
    clip = np.concatenate([x for s in speech for x in (s, gap)])
    reps = int(np.ceil(240 * 48000 / len(clip)))
    sf.write(str(data / "long.wav"), np.tile(clip, reps)[: 240 * 48000], 48000, subtype="PCM_16")
    for uid in ("demo_f_001", "demo_m_001"):
        x, sr = sf.read(str(DEMO_DIR / f"{uid}.flac"))
        sf.write(str(data / f"{uid}.wav"), x, sr, subtype="PCM_16")
    out = tmp_path / "run"
    r = subprocess.run(bench_cmd("run", "--systems", "anchor70", "--data", f"folder:{data}", "--metrics",
                                 "pesq_wb,si_sdr", "--out", str(out), "--no-report", "--workers", "1"),
                       capture_output=True, text=True, cwd=REPO, timeout=600, check=False)
    assert r.returncode == 0, r.stderr
    rows = {(x["utterance"], x["metric"]): x for x in read_rows(out / "results.csv")}
    for uid in ("demo_f_001", "demo_m_001"):
        for m in ("pesq_wb", "si_sdr", "lag_samples"):
            assert math.isfinite(float(rows[(uid, m)]["value"])), (uid, m, rows[(uid, m)]["error"])
    assert math.isfinite(float(rows[("long", "si_sdr")]["value"]))
    long_pesq = rows[("long", "pesq_wb")]
    assert math.isnan(float(long_pesq["value"])) and "too long for PESQ" in long_pesq["error"]


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        for k in map(int, kids):
            if k not in found:
                found.add(k)
                todo.append(k)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_a_killed_run(tmp_path):
    env = _plugin_env(tmp_path)
    out = tmp_path / "run"
    proc = subprocess.Popen(bench_cmd("run", "--systems", "natural", "--data", "demo", "--limit", "4", "--metrics",
                                      "sleepy", "--out", str(out), "--no-report", "--workers", "2", "--quiet"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=REPO)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(workers) < 2:  # both workers busy in the metric stage
            time.sleep(0.5)
            workers = _descendants(proc.pid)
            assert proc.poll() is None, "bench run ended before its metric stage"
        assert len(workers) >= 2
        time.sleep(1.0)  # the workers are inside the metric now
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.2)
        assert not [w for w in workers if _alive(w)], "worker processes outlived the killed run"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for w in workers:  # only the processes this test started
            if _alive(w):
                os.kill(w, signal.SIGKILL)


def _square_or_die(x: int) -> int:
    if x == 3:
        faulthandler.disable()  # pytest's handler would print the dying worker's stack
        os.kill(os.getpid(), signal.SIGSEGV)
    if x == 4:
        raise ValueError("four")
    return x * x


def test_isolated_pool_replaces_a_dead_worker_and_reports_the_job():
    from bench.isolation import CrashOutcome, IsolatedPool, WorkerCrash

    crashes = []

    def on_crash(job, crash):
        crashes.append((job, crash.reason))
        return CrashOutcome(result=-1, retry=[10] if job == 3 else [])

    pool = IsolatedPool(2)
    try:
        got = dict(pool.map_unordered(_square_or_die, [0, 1, 2, 3, 5, 6], on_crash))
        assert got == {0: 0, 1: 1, 2: 4, 3: -1, 5: 25, 6: 36, 10: 100}  # the retry ran too
        assert crashes == [(3, "killed by SIGSEGV")]
        with pytest.raises(ValueError, match="four"):  # an exception in the job is the caller's
            list(pool.map_unordered(_square_or_die, [4, 5]))
        with pytest.raises(WorkerCrash, match="SIGSEGV"):  # without on_crash a crash is raised
            list(pool.map_unordered(_square_or_die, [3]))
        assert dict(pool.map_unordered(_square_or_die, [7])) == {7: 49}  # and the pool still works
    finally:
        pool.close()
