"""The real server (uvicorn on 127.0.0.1, free port) with real SQLite: concurrency, idempotency, and
refusal of malformed, oversized, unknown, traversing and scripted input."""

from __future__ import annotations

import http.client
import sqlite3
import threading
from pathlib import Path

import httpx
import pytest

from bench.errors import UsageError
from listening_test.build import BuildOptions, build_test
from listening_test.definition import TestDefinition
from listening_test.server import create_app
from listening_test.storage import open_storage
from tests.listen_util import ANSWERS, ServerThread, make_run_folder

TOKEN = "admin-secret-token"


@pytest.fixture(scope="module")
def test_dir(tmp_path_factory) -> Path:
    run = make_run_folder(tmp_path_factory.mktemp("run"), n_utts=3, seconds=1.2)
    out = tmp_path_factory.mktemp("mushra")
    build_test(BuildOptions(run_dir=run, out=out, type="mushra", items=2, seconds=1.0))
    return out


@pytest.fixture()
def server(test_dir, tmp_path):
    definition = TestDefinition.load(test_dir)
    storage = open_storage(f"sqlite:///{tmp_path / 'results.sqlite'}", test_dir)
    with ServerThread(create_app(test_dir, definition, storage, TOKEN)) as srv:
        srv.definition, srv.db = definition, tmp_path / "results.sqlite"
        yield srv


def db_rows(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return sorted(conn.execute("SELECT * FROM ratings").fetchall()) + \
            sorted(conn.execute("SELECT participant, trial, idem_key, comment FROM submissions").fetchall()) + \
            sorted(conn.execute("SELECT id, questionnaire FROM participants").fetchall())


def start(client: httpx.Client) -> tuple[str, dict]:
    pid = client.post("/api/sessions", json={"consent": True}).json()["participant"]
    for step in ("level", "training"):
        assert client.post(f"/api/sessions/{pid}/progress", json={"step": step}).status_code == 200
    return pid, client.get(f"/api/sessions/{pid}").json()


def test_fifty_concurrent_participants_each_rating_stored_once(server):
    sent: dict[tuple[str, str, str], int] = {}
    lock, errors = threading.Lock(), []

    def participant(n: int) -> None:
        try:
            with httpx.Client(base_url=server.url, timeout=60) as c:
                pid, session = start(c)
                assert session["phase"] == "trials"
                for k, trial in enumerate(session["trials"]):
                    ratings = {s["id"]: (n * 7 + k * 13 + i * 3) % 101 for i, s in enumerate(trial["stimuli"])}
                    body = {"key": f"key{n:03d}x{k}", "ratings": ratings, "time_ms": 1000 + n, "comment": f"p{n}"}
                    first = c.post(f"/api/sessions/{pid}/trials/{trial['id']}", json=body)
                    again = c.post(f"/api/sessions/{pid}/trials/{trial['id']}", json=body)  # a retry
                    assert (first.status_code, again.status_code) == (201, 200), (first.text, again.text)
                    assert again.json()["status"] == "duplicate"
                    with lock:
                        sent.update({(pid, trial["id"], sid): v for sid, v in ratings.items()})
                assert c.post(f"/api/sessions/{pid}/questionnaire", json={"answers": {**ANSWERS, "age": str(n)}}).status_code == 200
                assert c.get(f"/api/sessions/{pid}").json()["phase"] == "done"
        except Exception as exc:  # noqa: BLE001 - collected and reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=participant, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    with sqlite3.connect(server.db) as conn:
        rows = conn.execute("SELECT participant, trial, stimulus, score FROM ratings").fetchall()
        n_sub = conn.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
    assert len(rows) == len(sent) == 50 * 2 * 5 and n_sub == 100
    assert {(p, t, s): v for p, t, s, v in rows} == sent


def test_same_trial_with_other_ratings_is_refused(server):
    with httpx.Client(base_url=server.url) as c:
        pid, session = start(c)
        trial = session["trials"][0]
        body = {"key": "firstkey1", "ratings": {s["id"]: 50 for s in trial["stimuli"]}, "time_ms": 5}
        assert c.post(f"/api/sessions/{pid}/trials/{trial['id']}", json=body).status_code == 201
        other = {**body, "key": "secondkey", "ratings": {s["id"]: 10 for s in trial["stimuli"]}}
        assert c.post(f"/api/sessions/{pid}/trials/{trial['id']}", json=other).status_code == 409
    assert {r[-1] for r in sqlite3.connect(server.db).execute("SELECT * FROM ratings")} == {50.0}


def raw_get(url: str, path: str) -> int:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    conn.request("GET", path)  # sent verbatim, no client-side normalisation of ../
    status = conn.getresponse().status
    conn.close()
    return status


def test_bad_input_is_refused_and_nothing_is_stored(server):
    with httpx.Client(base_url=server.url) as c:
        pid, session = start(c)
        trial = session["trials"][0]
        sids = [s["id"] for s in trial["stimuli"]]
        ok = {"key": "goodkey123", "ratings": {s: 40 for s in sids}, "time_ms": 10, "comment": ""}
        url = f"/api/sessions/{pid}/trials/{trial['id']}"
        before = db_rows(server.db)
        cases = [
            (c.post(url, content=b'{"key": "abcdefgh", "ratings": {', headers={"content-type": "application/json"}), 400),
            (c.post("/api/sessions", content=b"consent=yes"), 415),  # not JSON: no cross-site form posts
            (c.post(url, json={**ok, "ratings": {**ok["ratings"], sids[0]: 101}}), 422),
            (c.post(url, json={**ok, "ratings": {**ok["ratings"], sids[0]: -0.5}}), 422),
            (c.post(url, json={**ok, "ratings": {**ok["ratings"], sids[0]: "50"}}), 422),
            (c.post(url, json={**ok, "ratings": {**ok["ratings"], sids[0]: True}}), 422),
            (c.post(url, content=b'{"key":"abcdefghij","ratings":{"%s":NaN},"time_ms":1}' % sids[0].encode(),
                    headers={"content-type": "application/json"}), 422),
            (c.post(url, json={**ok, "ratings": {**ok["ratings"], "s0000000000": 50}}), 422),  # unknown stimulus
            (c.post(url, json={**ok, "ratings": {s: 40 for s in sids[1:]}}), 422),  # one missing
            (c.post(url, json={**ok, "extra": 1}), 422),
            (c.post(url, json={**ok, "key": "../../x"}), 422),
            (c.post(f"/api/sessions/{'0' * 40}/trials/{trial['id']}", json=ok), 404),  # unknown session
            (c.post(f"/api/sessions/../admin/trials/{trial['id']}", json=ok), 404),
            (c.post(f"/api/sessions/{pid}/trials/nope", json=ok), 404),  # unknown trial
            (c.post(url, json={**ok, "comment": "x" * 70_000}), 413),  # oversized, with Content-Length
            (c.post(url, content=(b"[" + b"1," * 40_000 + b"1]" for _ in range(1)),
                    headers={"content-type": "application/json"}), 413),  # oversized, chunked
            (c.post(f"/api/sessions/{pid}/questionnaire", json={"answers": ANSWERS}), 409),  # trials not done
            (c.post(f"/api/sessions/{pid}/questionnaire", json={"answers": {"evil": "3"}}), 422),
            (c.post(f"/api/sessions/{pid}/progress", json={"step": "finished"}), 422),
            (c.post("/api/sessions", json={"consent": False}), 422),
            (c.get("/admin"), 403),
            (c.get("/admin?token=wrong"), 403),
            (c.get("/admin/export.csv"), 403),
        ]
        for response, expected in cases:
            assert response.status_code == expected, (response.request.url, response.text)
            assert "error" in response.json()
        assert db_rows(server.db) == before
    for path in ["/audio/../test.json", "/audio/..%2ftest.json", "/audio/%2e%2e/results.sqlite",
                 "/audio/item01/..%2f..%2ftest.json", "/audio//etc/passwd", "/audio/item01/../../test.json",
                 "/static/..%2ftest.json", "/static/../../test.json", "/audio/training/../../webmushra.yaml"]:
        assert raw_get(server.url, path) in (400, 404), path
    first = session["trials"][0]["stimuli"][0]["url"]
    assert raw_get(server.url, first) == 200


def test_script_in_comments_and_answers_is_escaped_on_every_page(server):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    with httpx.Client(base_url=server.url) as c:
        pid, session = start(c)
        for k, trial in enumerate(session["trials"]):
            body = {"key": f"evilkey{k}", "ratings": {s["id"]: 70 for s in trial["stimuli"]}, "time_ms": 3,
                    "comment": evil}
            assert c.post(f"/api/sessions/{pid}/trials/{trial['id']}", json=body).status_code == 201
        assert c.post(f"/api/sessions/{pid}/questionnaire", json={"answers": {**ANSWERS, "headphones": evil}}).status_code == 200
        admin = c.get(f"/admin?token={TOKEN}")
        assert admin.status_code == 200
        assert "<script" not in admin.text and "<img" not in admin.text
        assert admin.text.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") == 3  # 2 comments + answer
        for page in ("/", f"/s/{pid}"):
            r = c.get(page)
            assert 'alert("x")' not in r.text and "onerror" not in r.text and "script-src 'self'" in r.headers["content-security-policy"]
        csv_text = c.get(f"/admin/export.csv?token={TOKEN}").text
        # stored verbatim, as data: 2 trials x 5 rows, comment and questionnaire column
        assert csv_text.count(evil.replace('"', '""')) == 2 * 5 * 2
    # the session JSON never carries comments; the page builds its DOM with textContent only
    js = (Path(__file__).parents[1] / "listening_test" / "static" / "app.js").read_text()
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js


def test_postgres_url_is_a_clear_error(tmp_path):
    with pytest.raises(UsageError, match="PostgreSQL storage is not supported yet"):
        open_storage("postgresql://user@localhost/db", tmp_path)
