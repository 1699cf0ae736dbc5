"""``bench listen analyze|export|import`` on ratings collected through the real server."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import httpx
import pytest

from bench.cli import main as bench_main
from listening_test.build import BuildOptions, build_test
from listening_test.definition import TestDefinition
from listening_test.server import create_app
from listening_test.storage import open_storage
from tests.listen_util import ANSWERS, ServerThread, make_run_folder

#: simulated panel: mean score per condition; assessor "sloppy" rates the hidden reference 60 everywhere
MEANS = {"reference": 97, "noisy": 55, "muffled": 70, "anchor70": 45, "anchor35": 15}


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> Path:
    run = make_run_folder(tmp_path_factory.mktemp("run"), n_utts=6, seconds=1.0)
    out = tmp_path_factory.mktemp("test")
    build_test(BuildOptions(run_dir=run, out=out, type="mushra", items=5, seconds=0.8))
    definition = TestDefinition.load(out)
    system_of = {s.id: s.system for it in definition.items for s in it.stimuli}
    with ServerThread(create_app(out, definition, open_storage(None, out), "t" * 20)) as srv, \
            httpx.Client(base_url=srv.url) as c:
        for n in range(6):
            pid = c.post("/api/sessions", json={"consent": True}).json()["participant"]
            for step in ("level", "training"):
                c.post(f"/api/sessions/{pid}/progress", json={"step": step})
            for k, trial in enumerate(c.get(f"/api/sessions/{pid}").json()["trials"]):
                ratings = {}
                for s in trial["stimuli"]:
                    system = system_of[s["id"]]
                    score = MEANS[system] + (n % 3) - 1
                    ratings[s["id"]] = 60 if (n == 5 and system == "reference") else score
                r = c.post(f"/api/sessions/{pid}/trials/{trial['id']}",
                           json={"key": f"cli{n}trial{k}", "ratings": ratings, "time_ms": 60_000})
                assert r.status_code == 201
            answers = {**ANSWERS, "age": str(20 + n)}
            assert c.post(f"/api/sessions/{pid}/questionnaire", json={"answers": answers}).status_code == 200
    return out


def test_analyze_excludes_the_sloppy_assessor_and_writes_tables(collected, capsys):
    assert bench_main(["listen", "analyze", str(collected)]) == 0
    out = capsys.readouterr()
    printed = out.out
    assert "6 assessors, 5 kept" in printed and "hidden reference below 90 on 5 of 5" in printed
    # 5 kept is below the panel BS.1534-3 expects: said on the terminal, and no CI is printed as reliable
    assert "5 assessors: below the 20 that ITU-R BS.1534-3 (§4) expects after post-screening" in out.err
    ci_lines = [line for line in printed.splitlines() if " +- " in line]
    assert ci_lines and all("(CI not reliable)" in line for line in ci_lines)
    result = json.loads((collected / "analysis" / "analysis.json").read_text())
    means = {r["condition"]: r["mean"] for r in result["summary"]}
    assert means == pytest.approx({k: float(v) for k, v in MEANS.items()}, abs=0.5)
    assert [r["condition"] for r in result["summary"]] == ["reference", "noisy", "muffled", "anchor70", "anchor35"]
    for name in ("summary.md", "summary.tex", "pairwise.csv", "boxplot.png", "items.png"):
        assert (collected / "analysis" / name).is_file()


def test_export_then_import_reproduces_the_analysis(collected, tmp_path):
    out_csv = tmp_path / "ratings.csv"
    assert bench_main(["listen", "export", str(collected), "--out", str(out_csv)]) == 0
    rows = list(csv.DictReader(out_csv.open()))
    assert len(rows) == 6 * 5 * 5
    assert list(rows[0])[:3] == ["session_test_id", "age", "expert"]
    assert {r["rating_stimulus"] for r in rows} == set(MEANS)
    assert bench_main(["listen", "import", str(out_csv), "--out", str(tmp_path / "imported")]) == 0
    assert bench_main(["listen", "analyze", str(collected), "--out", str(tmp_path / "ours")]) == 0
    ours = json.loads((tmp_path / "ours" / "analysis.json").read_text())
    theirs = json.loads((tmp_path / "imported" / "analysis.json").read_text())
    by_condition = lambda result: {r["condition"]: r for r in result["summary"]}
    assert by_condition(theirs) == by_condition(ours)
    assert theirs["excluded"] == ours["excluded"]
    pairs = lambda result: {frozenset((p["a"], p["b"])): p["p_holm"] for p in result["pairwise"]}
    assert pairs(theirs) == pytest.approx(pairs(ours))


def test_cli_errors(tmp_path, capsys):
    assert bench_main(["listen", "analyze", str(tmp_path)]) == 2
    assert "no test definition" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert bench_main(["listen", "import", str(bad)]) == 2
    assert "missing columns" in capsys.readouterr().err


def test_an_unknown_test_type_is_a_usage_error_naming_the_file(collected, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(collected, copy)
    doc = json.loads((copy / "test.json").read_text())
    (copy / "test.json").write_text(json.dumps({**doc, "type": "mosh"}))
    assert bench_main(["listen", "export", str(copy)]) == 2
    err = capsys.readouterr().err
    assert f"{copy / 'test.json'}: type 'mosh' is not one of mushra, mos" in err
