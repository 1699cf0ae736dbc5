"""The server process killed mid-test and restarted: everything submitted is kept, the participant resumes."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from listening_test.build import BuildOptions, build_test
from tests.listen_util import ANSWERS, free_port, make_run_folder

TOKEN = "restart-admin-token"


def serve(test_dir: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", "listen", "serve", str(test_dir), "--port", str(port), "--admin-token", TOKEN],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/test", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not come up")


def test_kill_and_restart_keeps_everything(tmp_path):
    run = make_run_folder(tmp_path / "run", n_utts=4, seconds=1.2)
    test_dir = tmp_path / "test"
    build_test(BuildOptions(run_dir=run, out=test_dir, type="mushra", items=3, seconds=1.0))
    port = free_port()
    proc = serve(test_dir, port)
    try:
        base = f"http://127.0.0.1:{port}"
        c = httpx.Client(base_url=base, timeout=10)
        pid = c.post("/api/sessions", json={"consent": True}).json()["participant"]
        c.post(f"/api/sessions/{pid}/progress", json={"step": "level", "audio_rate": 48000})
        c.post(f"/api/sessions/{pid}/progress", json={"step": "training"})
        session = c.get(f"/api/sessions/{pid}").json()
        done = {}
        for k, trial in enumerate(session["trials"][:2]):
            ratings = {s["id"]: 10 * k + i for i, s in enumerate(trial["stimuli"])}
            r = c.post(f"/api/sessions/{pid}/trials/{trial['id']}", json={"key": f"restart{k}xx", "ratings": ratings,
                                                                          "time_ms": 100})
            assert r.status_code == 201
            done[trial["id"]] = ratings
        c.close()
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # no clean shutdown
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    proc = serve(test_dir, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            again = c.get(f"/api/sessions/{pid}").json()
            assert again["phase"] == "trials" and set(again["completed"]) == set(done)
            assert [t["id"] for t in again["trials"]] == [t["id"] for t in session["trials"]]  # same order
            last = again["trials"][2]
            r = c.post(f"/api/sessions/{pid}/trials/{last['id']}",
                       json={"key": "restart2xx", "ratings": {s["id"]: 99 for s in last["stimuli"]}, "time_ms": 1})
            assert r.status_code == 201
            assert c.post(f"/api/sessions/{pid}/questionnaire", json={"answers": {**ANSWERS, "age": "30"}}).status_code == 200
            assert c.get(f"/api/sessions/{pid}").json()["phase"] == "done"
            csv_text = c.get(f"/admin/export.csv?token={TOKEN}").text
        rows = list(csv.DictReader(io.StringIO(csv_text)))  # webMUSHRA columns, the questionnaire fields in between
        stored = {(r["trial_id"], r["rating_stimulus"]): float(r["rating_score"]) for r in rows}
        assert len(rows) == 3 * 5
        from listening_test.definition import TestDefinition

        d = TestDefinition.load(test_dir)
        for trial_id, ratings in done.items():
            item = d.item(d.trial(trial_id).item)
            for sid, score in ratings.items():
                assert stored[(trial_id, item.stimulus(sid).system)] == score
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_prints_the_admin_link_and_binds_localhost(tmp_path):
    pytest.importorskip("uvicorn")
    run = make_run_folder(tmp_path / "run", n_utts=3, seconds=1.0)
    test_dir = tmp_path / "test"
    build_test(BuildOptions(run_dir=run, out=test_dir, type="mos", items=2, seconds=0.8))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench", "listen", "serve", str(test_dir), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(2)]
        assert lines[0].startswith(f"participants: http://127.0.0.1:{port}/")
        token = lines[1].strip().rpartition("token=")[2]
        assert len(token) >= 16
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/admin?token={token}", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("admin page not reachable with the printed token")
        assert httpx.get(f"http://127.0.0.1:{port}/admin", timeout=2).status_code == 403
    finally:
        proc.terminate()
        proc.wait(timeout=10)
