"""The listening server against a hostile but fair client: duplicate stimuli, changed resends, invalid or
repeated questionnaires, spreadsheet formulas, skipped steps, cross-site posts, DNS rebinding, cached admin
pages, a locked database, and ``listen serve`` with a bad or busy port. Real server, real SQLite."""

from __future__ import annotations

import csv
import io
import json
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from listening_test.build import BuildOptions, build_test
from listening_test.definition import TestDefinition
from listening_test.questionnaire import AnswerError, validate_answers
from listening_test.server import create_app
from listening_test.storage import open_storage
from tests.listen_util import ANSWERS, ServerThread, make_run_folder

TOKEN = "hardening-admin-token"


@pytest.fixture(scope="module")
def test_dir(tmp_path_factory) -> Path:
    run = make_run_folder(tmp_path_factory.mktemp("run"), n_utts=3, seconds=1.0)
    out = tmp_path_factory.mktemp("mushra")
    build_test(BuildOptions(run_dir=run, out=out, type="mushra", items=2, seconds=0.8))
    return out


def make_server(test_dir: Path, db: Path, **kwargs) -> ServerThread:
    definition = TestDefinition.load(test_dir)
    storage = open_storage(f"sqlite:///{db}", test_dir)
    return ServerThread(create_app(test_dir, definition, storage, TOKEN, **kwargs))


@pytest.fixture()
def server(test_dir, tmp_path):
    with make_server(test_dir, tmp_path / "results.sqlite") as srv:
        srv.db = tmp_path / "results.sqlite"
        yield srv


def start(c: httpx.Client, steps=("level", "training")) -> tuple[str, dict]:
    pid = c.post("/api/sessions", json={"consent": True}).json()["participant"]
    for step in steps:
        assert c.post(f"/api/sessions/{pid}/progress", json={"step": step}).status_code == 200
    return pid, c.get(f"/api/sessions/{pid}").json()


def n_ratings(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM ratings").fetchone()[0]


def rate_all(c: httpx.Client, pid: str, session: dict, score: int = 50, comment: str = "") -> None:
    for k, trial in enumerate(session["trials"]):
        body = {"key": f"ratekey{k:03d}", "ratings": {s["id"]: score for s in trial["stimuli"]}, "time_ms": 5,
                "comment": comment}
        assert c.post(f"/api/sessions/{pid}/trials/{trial['id']}", json=body).status_code == 201


def test_the_same_stimulus_twice_in_one_submission_is_refused(server):
    with httpx.Client(base_url=server.url) as c:
        pid, session = start(c)
        trial = session["trials"][0]
        sids = [s["id"] for s in trial["stimuli"]]
        pairs = ", ".join(f'"{s}": 40' for s in sids) + f', "{sids[0]}": 90'  # sids[0] again: "last wins" before
        body = '{"key": "dupkey0001", "ratings": {' + pairs + '}, "time_ms": 3}'
        r = c.post(f"/api/sessions/{pid}/trials/{trial['id']}", content=body.encode(),
                   headers={"content-type": "application/json"})
        assert r.status_code == 422 and sids[0] in r.json()["error"] and "twice" in r.json()["error"]
    assert n_ratings(server.db) == 0


def test_a_resend_with_other_ratings_under_the_same_key_is_a_conflict(server):
    with httpx.Client(base_url=server.url) as c:
        pid, session = start(c)
        trial = session["trials"][0]
        body = {"key": "samekey001", "ratings": {s["id"]: 30 for s in trial["stimuli"]}, "time_ms": 5}
        url = f"/api/sessions/{pid}/trials/{trial['id']}"
        assert c.post(url, json=body).status_code == 201
        assert c.post(url, json=body).json() == {"status": "duplicate"}
        changed = {**body, "ratings": {**body["ratings"], trial["stimuli"][0]["id"]: 31}}
        r = c.post(url, json=changed)
        assert r.status_code == 409 and "other ratings" in r.json()["error"]
    with sqlite3.connect(server.db) as conn:
        assert {row[0] for row in conn.execute("SELECT score FROM ratings")} == {30.0}


@pytest.mark.parametrize(("answers", "field"), [
    ({"age": "abc"}, "age"), ({"age": "-1"}, "age"), ({"age": "121"}, "age"), ({"age": "nan"}, "age"),
    ({"expert": "maybe"}, "expert"), ({"headphones": "x" * 501}, "headphones"), ({"age": 30}, "answers.age"),
])
def test_questionnaire_answers_follow_the_definition(server, answers, field):
    with httpx.Client(base_url=server.url) as c:
        pid, session = start(c)
        rate_all(c, pid, session)
        r = c.post(f"/api/sessions/{pid}/questionnaire", json={"answers": {**ANSWERS, **answers}})
        assert r.status_code == 422 and field in r.json()["error"], r.text
        assert c.get(f"/api/sessions/{pid}").json()["phase"] == "questionnaire"


def test_questionnaire_boundaries_are_accepted_and_a_second_submission_refused(server):
    with httpx.Client(base_url=server.url) as c:
        for age in ("0", "120", "33.5"):
            pid, session = start(c)
            rate_all(c, pid, session)
            r = c.post(f"/api/sessions/{pid}/questionnaire", json={"answers": {**ANSWERS, "age": age, "expert": "yes"}})
            assert r.status_code == 200, (age, r.text)
        again = c.post(f"/api/sessions/{pid}/questionnaire", json={"answers": {**ANSWERS, "age": "99"}})
        assert again.status_code == 409
    with sqlite3.connect(server.db) as conn:
        stored = conn.execute("SELECT questionnaire FROM participants WHERE id = ?", (pid,)).fetchone()[0]
    assert '"expert": "yes"' in stored


@pytest.mark.parametrize("field", ["age", "headphones", "expert"])
@pytest.mark.parametrize("empty", ["", "   ", None])
def test_an_empty_questionnaire_answer_is_refused_naming_the_field(server, field, empty):
    answers = {k: v for k, v in ANSWERS.items() if k != field} | ({} if empty is None else {field: empty})
    with httpx.Client(base_url=server.url) as c:
        pid, session = start(c)
        rate_all(c, pid, session)
        r = c.post(f"/api/sessions/{pid}/questionnaire", json={"answers": answers})
        assert r.status_code == 422 and r.json()["error"].startswith(f"invalid answer: {field}: an answer is required")
        assert c.get(f"/api/sessions/{pid}").json()["phase"] == "questionnaire"  # nothing stored, still to answer


def test_a_question_the_test_marks_optional_may_be_left_empty():
    questions = [{"name": "age", "label": "Age", "type": "number", "min": 0, "max": 120},
                 {"name": "remarks", "label": "Anything else?", "type": "text", "optional": True}]
    assert validate_answers(questions, {"age": "40", "remarks": ""}) == {"age": "40", "remarks": ""}
    assert validate_answers(questions, {"age": "40"}) == {"age": "40"}
    with pytest.raises(AnswerError, match="^age: an answer is required"):
        validate_answers(questions, {"remarks": "fine"})


def test_the_questionnaire_page_names_missing_answers_and_submits_only_when_complete(server, browser):
    with httpx.Client(base_url=server.url) as c:
        pid, session = start(c)
        rate_all(c, pid, session)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{server.url}/s/{pid}")
    page.get_by_role("heading", name="A few questions").wait_for()
    submit, missing = page.locator("#submit-questionnaire"), page.locator("#missing-answers")
    assert submit.is_disabled()
    assert missing.inner_text() == ("Still to answer: Age, Headphones or loudspeakers used, "
                                    "Have you taken part in listening tests before?")
    page.fill("[name=age]", "31")
    page.select_option("[name=expert]", "no")
    page.fill("[name=headphones]", "   ")  # blanks are no answer
    assert submit.is_disabled() and missing.inner_text() == "Still to answer: Headphones or loudspeakers used"
    page.fill("[name=headphones]", "closed-back")
    assert submit.is_enabled() and missing.inner_text() == ""
    submit.click()
    page.locator("#done").wait_for()
    page.close()
    with sqlite3.connect(server.db) as conn:
        stored = json.loads(conn.execute("SELECT questionnaire FROM participants WHERE id = ?", (pid,)).fetchone()[0])
    assert stored == {"age": "31", "headphones": "closed-back", "expert": "no"}


def test_csv_export_neutralises_spreadsheet_formulas(server):
    formulas = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]
    with httpx.Client(base_url=server.url) as c:
        for k, text in enumerate(formulas):
            pid, session = start(c)
            rate_all(c, pid, session, comment=text)
            assert c.post(f"/api/sessions/{pid}/questionnaire",
                          json={"answers": {**ANSWERS, "headphones": text}}).status_code == 200
        exported = c.get(f"/admin/export.csv?token={TOKEN}").text
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert rows and {r["rating_comment"] for r in rows} == {"'" + f for f in formulas}
    assert {r["headphones"] for r in rows} == {"'" + f for f in formulas}
    assert all(not r["rating_score"].startswith("'") for r in rows)  # numbers stay numbers


@pytest.mark.parametrize("steps", [(), ("level",)])
def test_trials_are_refused_until_level_check_and_training_are_done(server, steps):
    with httpx.Client(base_url=server.url) as c:
        pid, session = start(c, steps)
        trial = session["trials"][0]
        body = {"key": "earlykey01", "ratings": {s["id"]: 50 for s in trial["stimuli"]}, "time_ms": 5}
        r = c.post(f"/api/sessions/{pid}/trials/{trial['id']}", json=body)
        assert r.status_code == 409 and "level check and training" in r.json()["error"]
    assert n_ratings(server.db) == 0


def test_training_cannot_be_marked_done_before_the_level_check(server):
    with httpx.Client(base_url=server.url) as c:
        pid = c.post("/api/sessions", json={"consent": True}).json()["participant"]
        r = c.post(f"/api/sessions/{pid}/progress", json={"step": "training"})
        assert r.status_code == 409
        assert c.get(f"/api/sessions/{pid}").json()["phase"] == "level"


def test_json_endpoints_refuse_other_content_types(server):
    with httpx.Client(base_url=server.url) as c:
        pid, session = start(c)
        trial = session["trials"][0]
        rated = ", ".join(f'"{s["id"]}": 10' for s in trial["stimuli"])
        body = '{"key": "formkey001", "ratings": {' + rated + '}, "time_ms": 1}'
        url = f"/api/sessions/{pid}/trials/{trial['id']}"
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None):
            headers = {"content-type": ctype} if ctype else {}
            r = c.post(url, content=body.encode(), headers=headers)
            assert r.status_code == 415, (ctype, r.text)
        assert c.post("/api/sessions", content=b'{"consent": true}', headers={"content-type": "text/plain"}).status_code == 415
        ok = c.post(url, content=body.encode(), headers={"content-type": "application/json; charset=utf-8"})
        assert ok.status_code == 201
    assert n_ratings(server.db) == len(trial["stimuli"])


def test_host_header_is_checked_against_the_served_names(test_dir, tmp_path):
    with make_server(test_dir, tmp_path / "a.sqlite") as srv, httpx.Client(base_url=srv.url) as c:
        assert c.get("/api/test").status_code == 200  # 127.0.0.1:port
        assert c.get("/api/test", headers={"host": f"localhost:{srv.port}"}).status_code == 200
        r = c.get("/api/test", headers={"host": f"rebind.attacker.example:{srv.port}"})
        assert r.status_code == 421 and "--allowed-host" in r.json()["error"]
        assert c.post("/api/sessions", json={"consent": True},
                      headers={"host": "rebind.attacker.example"}).status_code == 421
    with make_server(test_dir, tmp_path / "b.sqlite", allowed_hosts=["listen.lab.example"]) as srv, \
            httpx.Client(base_url=srv.url) as c:
        assert c.get("/api/test", headers={"host": f"listen.lab.example:{srv.port}"}).status_code == 200
        assert c.get("/api/test", headers={"host": "LISTEN.lab.example"}).status_code == 200
        assert c.get("/api/test", headers={"host": "other.lab.example"}).status_code == 421
    with sqlite3.connect(tmp_path / "a.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM participants").fetchone()[0] == 0


def test_admin_pages_are_not_cached(server):
    with httpx.Client(base_url=server.url) as c:
        for path in (f"/admin?token={TOKEN}", f"/admin/export.csv?token={TOKEN}", "/admin"):
            assert c.get(path).headers["cache-control"] == "no-store", path


def test_a_locked_database_does_not_stall_other_requests(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        pid, session = start(c)
        trial = session["trials"][0]
        body = {"key": "lockedkey1", "ratings": {s["id"]: 70 for s in trial["stimuli"]}, "time_ms": 1}
        holder = sqlite3.connect(server.db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
        result: dict[str, int] = {}
        t = threading.Thread(target=lambda: result.update(
            status=c.post(f"/api/sessions/{pid}/trials/{trial['id']}", json=body).status_code))
        t.start()
        try:
            # while that submission waits for the lock, the server keeps answering
            with httpx.Client(base_url=server.url, timeout=3) as other:
                for _ in range(3):
                    assert other.get("/api/test").status_code == 200
                    assert other.get(f"/api/sessions/{pid}").json()["completed"] == []
            assert t.is_alive()  # still waiting: the lock is really held
        finally:
            holder.execute("COMMIT")
            holder.close()
        t.join(timeout=30)
    assert result == {"status": 201}


def serve_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", "listen", "serve", *args], capture_output=True, text=True,
                          timeout=60, check=False)


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_serve_refuses_a_port_out_of_range(test_dir, port):
    r = serve_cli(str(test_dir), "--port", port)
    assert r.returncode == 2 and "--port" in r.stderr and "Traceback" not in r.stderr
    assert "0-65535" in r.stderr


def test_serve_reports_a_busy_port_before_printing_links_or_token(test_dir):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = serve_cli(str(test_dir), "--port", str(port), "--admin-token", "x" * 20)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"port {port}" in r.stderr and "in use" in r.stderr
    assert "token" not in r.stdout and "http://" not in r.stdout


def test_group_commit_keeps_each_write_atomic(tmp_path):
    from listening_test.storage import SQLiteStorage

    storage = SQLiteStorage(tmp_path / "r.sqlite")
    storage.create_participant("a" * 20)
    with storage.batch():
        storage.create_participant("b" * 20)
        with pytest.raises(sqlite3.IntegrityError):
            storage.create_participant("a" * 20)  # fails alone, inside the same transaction
        storage.create_participant("c" * 20)
    assert [p.id for p in storage.participants()] == ["a" * 20, "b" * 20, "c" * 20]
    with pytest.raises(RuntimeError), storage.batch():
        storage.create_participant("d" * 20)
        raise RuntimeError("the whole group fails")
    assert storage.participant("d" * 20) is None


def test_a_version_1_database_gains_the_new_columns(tmp_path):
    from listening_test.storage import SQLiteStorage

    db = tmp_path / "r.sqlite"
    with sqlite3.connect(db) as conn:  # the schema as version 1 wrote it
        conn.executescript("""
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE participants (id TEXT PRIMARY KEY, created TEXT NOT NULL, consent_at TEXT, level_at TEXT,
                training_at TEXT, questionnaire TEXT, finished_at TEXT, audio_rate INTEGER);
            INSERT INTO meta VALUES ('schema_version', '1');
            INSERT INTO participants (id, created) VALUES ('oldparticipant000001', '2026-01-01');""")
    storage = SQLiteStorage(db)
    old = storage.participant("oldparticipant000001")
    assert old is not None and old.external_id is None and old.checks == {}
    assert storage.save_check(old.id, "headphone", {"correct": 6}) and storage.participant(old.id).checks
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("2",)
