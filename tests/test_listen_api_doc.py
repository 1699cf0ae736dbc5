"""docs/listening_api.md: its scripted pilot runs against a served test as written, and a trial key shorter
than the 8 characters it states is refused."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys

import httpx
import pytest

from listening_test.build import BuildOptions, build_test
from listening_test.definition import TestDefinition
from listening_test.server import create_app
from listening_test.storage import open_storage
from tests.conftest import REPO
from tests.listen_util import ServerThread, make_run_folder

DOC = REPO / "docs" / "listening_api.md"


@pytest.fixture()
def server(tmp_path):
    run = make_run_folder(tmp_path / "run", n_utts=3, seconds=1.2)
    test_dir = tmp_path / "mushra"
    build_test(BuildOptions(run_dir=run, out=test_dir, type="mushra", items=2, seconds=1.0))
    storage = open_storage(f"sqlite:///{tmp_path / 'results.sqlite'}", test_dir)
    with ServerThread(create_app(test_dir, TestDefinition.load(test_dir), storage, "token-123456")) as srv:
        srv.db = tmp_path / "results.sqlite"
        yield srv


def test_the_documented_pilot_script_completes_a_session(server, tmp_path):
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL).group(1)
    script = tmp_path / "pilot.py"
    script.write_text(code.replace('BASE = "http://127.0.0.1:8000"', f'BASE = "{server.url}"'))
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "done"
    with sqlite3.connect(server.db) as conn:
        scores = {r[0] for r in conn.execute("SELECT score FROM ratings")}
    assert scores == {100.0}


def test_a_trial_key_needs_eight_characters(server):
    with httpx.Client(base_url=server.url) as c:
        pid = c.post("/api/sessions", json={"consent": True}).json()["participant"]
        for step in ("level", "training"):
            c.post(f"/api/sessions/{pid}/progress", json={"step": step})
        trial = c.get(f"/api/sessions/{pid}").json()["trials"][0]
        body = {"ratings": {s["id"]: 50 for s in trial["stimuli"]}, "time_ms": 10}
        url = f"/api/sessions/{pid}/trials/{trial['id']}"
        assert c.post(url, json={**body, "key": "1234567"}).status_code == 422
        assert c.post(url, json={**body, "key": "12345678"}).status_code == 201
    assert "8 to 64 characters" in DOC.read_text()
