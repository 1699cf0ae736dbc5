"""``--shard I/N`` and ``bench merge``: shards merged equal the unsharded run; merge refuses mismatches."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import read_rows, run_bench

from bench.errors import UsageError
from bench.shards import Shard

COMMON = ["--systems", "natural,anchor35", "--data", "demo", "--limit", "5", "--metrics", "si_sdr,lsd",
          "--workers", "2", "--no-report", "--quiet"]


def _rows(path: Path) -> set[tuple[str, ...]]:
    return {(r["utterance"], r["speaker"], r["system"], r["metric"], r["value"], r["error"])
            for r in read_rows(path)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("shards")
    for name, extra in [("full", []), ("s1", ["--shard", "1/2"]), ("s2", ["--shard", "2/2"])]:
        r = run_bench("run", *COMMON, *extra, "--out", str(base / name))
        assert r.returncode == 0, r.stderr
    return base


def test_shard_selection_is_disjoint_deterministic_and_balanced():
    items = [f"u{i:02d}" for i in range(11)]
    parts = [Shard(i, 3).select(items) for i in (1, 2, 3)]
    assert sorted(x for p in parts for x in p) == items
    assert [len(p) for p in parts] == [4, 4, 3]
    assert parts[0] == ["u00", "u03", "u06", "u09"]
    assert Shard.parse(" 2 / 3 ") == Shard(2, 3) and str(Shard(2, 3)) == "2/3"
    for bad in ("0/2", "3/2", "1", "a/b", "1/0"):
        with pytest.raises(UsageError):
            Shard.parse(bad)


def test_merged_shards_equal_the_unsharded_run(runs, tmp_path):
    s1 = json.loads((runs / "s1" / "run.json").read_text())
    assert s1["config"]["shard"] == "1/2"
    # --limit 5 takes f1, m1, f2, m2, f3 (round-robin over the voices); sorted by id, every 2nd is shard 1
    assert [i["id"] for i in s1["corpus"]["items"]] == ["demo_f_001", "demo_f_003", "demo_m_002"]
    out = tmp_path / "merged"
    r = run_bench("merge", str(runs / "s1"), str(runs / "s2"), "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    assert _rows(out / "results.csv") == _rows(runs / "full" / "results.csv")
    assert (out / "summary.csv").read_text() == (runs / "full" / "summary.csv").read_text()
    for sub in ("reference", "audio/natural", "audio/anchor35"):
        names = sorted(p.name for p in (runs / "full" / sub).iterdir())
        assert sorted(p.name for p in (out / sub).iterdir()) == names
    merged, full = json.loads((out / "run.json").read_text()), json.loads((runs / "full" / "run.json").read_text())
    assert merged["corpus"]["manifest_sha256"] == full["corpus"]["manifest_sha256"]
    assert merged["corpus"]["n"] == 5 and merged["status"] == "complete"
    assert [m["shard"] for m in merged["config"]["merged_from"]] == ["1/2", "2/2"]
    assert len((out / "results.jsonl").read_text().splitlines()) == len(read_rows(out / "results.csv"))


def test_merge_refuses_different_value_settings(runs, tmp_path):
    other = tmp_path / "noalign"
    r = run_bench("run", *COMMON, "--shard", "2/2", "--no-align", "--out", str(other))
    assert r.returncode == 0, r.stderr
    r = run_bench("merge", str(runs / "s1"), str(other), "--out", str(tmp_path / "m"))
    assert r.returncode == 2
    assert "different value-changing settings" in r.stderr and "align: system" in r.stderr
    assert not (tmp_path / "m" / "results.csv").exists()


def test_merge_accepts_consistent_overlap_and_refuses_inconsistent(runs, tmp_path):
    twin = tmp_path / "twin"
    shutil.copytree(runs / "s1", twin)
    r = run_bench("merge", str(runs / "s1"), str(twin), str(runs / "s2"), "--out", str(tmp_path / "ok"), "--quiet")
    assert r.returncode == 0, r.stderr
    assert _rows(tmp_path / "ok" / "results.csv") == _rows(runs / "full" / "results.csv")
    lines = (twin / "results.jsonl").read_text().splitlines()
    row = next(json.loads(x) for x in lines if json.loads(x)["metric"] == "si_sdr"
               and json.loads(x)["system"] == "anchor35")
    i = lines.index(json.dumps(row))
    row["value"] += 1.0
    lines[i] = json.dumps(row)  # the same key, another value than in s1
    (twin / "results.jsonl").write_text("\n".join(lines) + "\n")
    r = run_bench("merge", str(runs / "s1"), str(twin), "--out", str(tmp_path / "bad"))
    assert r.returncode == 2 and "overlap inconsistently" in r.stderr and row["utterance"] in r.stderr
    r = run_bench("merge", str(runs / "s1"), "--out", str(runs / "s1"))
    assert r.returncode == 2 and "one of the inputs" in r.stderr
