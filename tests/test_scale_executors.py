"""Executors: ``--executor ray`` gives the same results as the local process pool; bad executors are usage errors."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, bench_cmd, demo_clips, need_libopus, read_rows
from test_scale_batching import install_tinybatch

from bench.executors import EXECUTORS, LocalExecutor
from bench.runfolder.wav import read_run_wav


def _rows(path: Path) -> set[tuple[str, ...]]:
    return {(r["utterance"], r["system"], r["metric"], r["value"], r["error"]) for r in read_rows(path)}


def _private_ray_tmp() -> Path:
    """A new RAY_TMPDIR, short: Ray's socket paths live below it."""
    return Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))


def _new_session_started(ray_tmp: Path) -> bool:
    return any(p.name.startswith("session_") for p in (ray_tmp / "ray").iterdir())


def test_ray_and_local_give_identical_results(tmp_path):
    """Metrics as Ray tasks, systems (opus, an anchor, a torch batching plugin) as Ray actors; the Ray run has a
    leftover RAY_ADDRESS in its environment, which is never joined unasked: a private instance starts."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (pip install 'codec-bench[ray]')")
    need_libopus()
    plugin_env = install_tinybatch(tmp_path / "site")
    data = demo_clips(tmp_path / "data", n=2, seconds=1.0)
    common = ["--systems", "natural,opus,anchor35,tinybatch", "--data", f"folder:{data}", "--metrics", "si_sdr",
              "--workers", "2", "--batch-size", "2", "--no-report", "--quiet"]
    ray_tmp = _private_ray_tmp()
    try:
        ray_env = {**plugin_env, "RAY_TMPDIR": str(ray_tmp), "RAY_ADDRESS": "127.0.0.1:9"}  # nothing listens there
        for name, extra, env in [("local", [], plugin_env), ("ray", ["--executor", "ray"], ray_env)]:
            r = subprocess.run(bench_cmd("run", *common, *extra, "--out", str(tmp_path / name)), capture_output=True,
                               text=True, env=env, cwd=REPO, timeout=600, check=False)
            assert r.returncode == 0, r.stderr
        assert _new_session_started(ray_tmp)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    a, b = _rows(tmp_path / "local" / "results.csv"), _rows(tmp_path / "ray" / "results.csv")
    assert len(a) == 2 * 4 * 4  # utterances x systems x (si_sdr + si_sdr_raw + bitrate + lag)
    assert a == b  # every value equal to the last digit
    for system in ("opus", "anchor35", "tinybatch"):
        local = sorted((tmp_path / "local" / "audio" / system).glob("*.wav"))
        assert len(local) == 2
        for f in local:
            assert np.array_equal(read_run_wav(f)[0], read_run_wav(tmp_path / "ray" / "audio" / system / f.name)[0])
    assert json.loads((tmp_path / "ray" / "run.json").read_text())["config"]["executor"] == "ray"


def test_unknown_executor_and_misplaced_address_are_usage_errors(tmp_path, capsys):
    from bench.cli import main

    base = ["run", "--systems", "natural", "--data", "demo", "--limit", "1", "--metrics", "si_sdr", "--no-report"]
    assert main([*base, "--executor", "dask", "--out", str(tmp_path / "a")]) == 2
    assert "unknown executor 'dask'" in capsys.readouterr().err
    assert main([*base, "--ray-address", "auto", "--out", str(tmp_path / "b")]) == 2
    assert "--ray-address applies to --executor ray" in capsys.readouterr().err


def test_local_executor_keeps_a_bounded_number_of_jobs_in_flight():
    submitted: list[int] = []

    def jobs() -> Iterator[int]:
        for i in range(50):
            submitted.append(i)
            yield i

    ex = LocalExecutor(workers=2)
    try:
        it = ex.map_unordered(abs, jobs())
        first = next(it)[1]
        assert len(submitted) <= 2 * 2 + 1  # not the whole list
        rest = [r for _, r in it]
    finally:
        ex.close()
    assert sorted([first, *rest]) == list(range(50))  # each job exactly once
    assert set(EXECUTORS.names()) >= {"local", "ray"}


def test_ray_without_address_ignores_a_leftover_ray_start_session(tmp_path):
    """A leftover ``ray start`` session file is never joined unasked (a leftover RAY_ADDRESS: in
    test_ray_and_local_give_identical_results)."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (pip install 'codec-bench[ray]')")
    ray_tmp = _private_ray_tmp()
    try:
        home = tmp_path / "home"  # Ray writes nothing here (no auth token) and prints no token banner
        home.mkdir()
        env = {**os.environ, "RAY_TMPDIR": str(ray_tmp), "HOME": str(home)}
        env.pop("RAY_AUTH_MODE", None)
        (ray_tmp / "ray").mkdir()  # what `ray start` leaves behind; nothing listens there any more
        (ray_tmp / "ray" / "ray_current_cluster").write_text("127.0.0.1:9\n")
        r = subprocess.run(bench_cmd("run", "--systems", "natural", "--data", "demo", "--limit", "1", "--metrics",
                                     "si_sdr", "--executor", "ray", "--workers", "1", "--no-report", "--quiet",
                                     "--out", str(tmp_path / "run")),
                           capture_output=True, text=True, env=env, cwd=REPO,
                           timeout=600, check=False)
        assert r.returncode == 0, r.stderr
        assert len(read_rows(tmp_path / "run" / "results.csv")) == 4  # si_sdr, si_sdr_raw, bitrate_kbps, lag_samples
        assert _new_session_started(ray_tmp)
        assert "Token authentication" not in r.stderr and not (home / ".ray").exists(), r.stderr
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
