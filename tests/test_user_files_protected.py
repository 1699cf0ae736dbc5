"""Commands that write where the user points them never delete or overwrite what they did not write:
``bench report --out`` (a manifest of its own files) and ``bench listen export --out`` (never into the test)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bench.cli import main as bench_main
from listening_test.build import BuildOptions, build_test
from tests.listen_util import make_run_folder
from tests.test_reports_fixtures import make_run


@pytest.fixture(scope="module")
def listening(tmp_path_factory) -> Path:
    """A small MUSHRA test folder with its (empty) ratings database."""
    from listening_test.storage import open_storage

    run = make_run_folder(tmp_path_factory.mktemp("run"), n_utts=3, seconds=1.0)
    out = tmp_path_factory.mktemp("mushra")
    build_test(BuildOptions(run_dir=run, out=out, type="mushra", items=2, seconds=0.8))
    open_storage(None, out)
    return out


def test_report_out_keeps_files_it_did_not_write(tmp_path: Path, capsys) -> None:
    run = make_run(tmp_path / "run", seconds=0.4)
    mine = tmp_path / "mine"
    (mine / "plots").mkdir(parents=True)
    (mine / "summary.md").write_text("my notes\n")
    (mine / "plots" / "my_plot.png").write_bytes(b"not a report's")
    one = ["--demo-utterances", "p225/p225_001"]
    assert bench_main(["report", str(run), "--out", str(mine), *one]) == 2
    assert "holds files no codec-bench report wrote" in capsys.readouterr().err
    assert (mine / "summary.md").read_text() == "my notes\n" and not (mine / "index.html").exists()

    out = tmp_path / "report"
    assert bench_main(["report", str(run), "--out", str(out), *one]) == 0
    written = {p for p in (out / "plots").glob("*.png")}
    assert written
    (out / "plots" / "my_plot.png").write_bytes(b"added to a report folder by hand")
    stale = next(iter(written))
    stale.write_bytes(b"a figure of an earlier build")
    assert bench_main(["report", str(run), "--out", str(out), *one]) == 0  # a report folder: rebuilt in place
    assert (out / "plots" / "my_plot.png").read_bytes() == b"added to a report folder by hand"
    assert stale.read_bytes().startswith(b"\x89PNG")  # its own file is replaced


@pytest.mark.parametrize("target", ["results.sqlite", "test.json", "audio/x.csv", "."])
def test_listen_export_refuses_paths_inside_the_test(listening: Path, target: str, capsys) -> None:
    test_dir = listening
    def files() -> dict[Path, bytes]:  # the database's -wal/-shm change whenever it is opened
        return {p: p.read_bytes() for p in test_dir.rglob("*") if p.is_file() and ".sqlite" not in p.name}

    before = files()
    assert bench_main(["listen", "export", str(test_dir), "--out", str(test_dir / target)]) == 2
    assert "inside the test folder" in capsys.readouterr().err
    assert files() == before
    with sqlite3.connect(test_dir / "results.sqlite") as conn:
        conn.execute("SELECT COUNT(*) FROM ratings").fetchone()
    assert bench_main(["listen", "export", str(test_dir)]) == 0  # the default file next to the test is fine
    assert (test_dir / "ratings_webmushra.csv").is_file()


def test_deeply_nested_json_is_a_client_error_and_stores_nothing(listening: Path, tmp_path: Path) -> None:
    import httpx

    from tests.test_listen_hardening import make_server

    db = tmp_path / "results.sqlite"
    with make_server(listening, db) as srv, httpx.Client(base_url=srv.url) as c:
        for body in ('{"consent": ' + "[" * 20000 + "]" * 20000 + "}", "[" * 20000 + "]" * 20000,
                     '{"consent": ' + '{"a":' * 10000 + "1" + "}" * 10000 + "}"):
            r = c.post("/api/sessions", content=body, headers={"content-type": "application/json"})
            assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
        assert c.post("/api/sessions", json={"consent": True}).status_code in (200, 201)  # still serving
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM participants").fetchone()[0] == 1


def test_csv_cells_a_spreadsheet_would_evaluate_are_neutralised() -> None:
    import csv
    import io

    from listening_test.ratings import Rating
    from listening_test.webmushra import ratings_to_csv

    evil = [" =1+1", "\n=1+1", "＝1+1", "|calc!A0", "  ＋SUM(A1)", "\u3000=1+1", "=1+1", "-2+3", "\x0b@x"]
    fine = ["sounds fine", "3 dB louder", "a=b"]
    ratings = [Rating(assessor="p1", trial=f"t{i}", item=f"t{i}", system="opus", score=50.0, time_ms=5, comment=text)
               for i, text in enumerate(evil + fine)]
    rows = list(csv.DictReader(io.StringIO(ratings_to_csv(ratings, "test", {}))))
    got = {r["trial_id"]: r["rating_comment"] for r in rows}
    assert [got[f"t{i}"] for i in range(len(evil))] == ["'" + t for t in evil]
    assert [got[f"t{len(evil) + i}"] for i in range(len(fine))] == fine
    assert all(r["rating_score"] == "50" for r in rows)
