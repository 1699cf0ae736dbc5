"""``bench merge`` checks each part against its own run.json before joining it: short parts, parts that ran
different systems or metrics, missing files, rows given twice, symbolic links and hostile ids."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import run_bench

from bench.errors import UsageError
from bench.merge import merge_runs

COMMON = ["--systems", "natural", "--data", "demo", "--limit", "4", "--workers", "1", "--no-report", "--quiet"]


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("merge_parts")
    for name, extra in [("s1", ["--shard", "1/2", "--metrics", "si_sdr"]), ("s2", ["--shard", "2/2", "--metrics", "si_sdr"]),
                        ("s2lsd", ["--shard", "2/2", "--metrics", "lsd"])]:
        r = run_bench("run", *COMMON, *extra, "--out", str(base / name))
        assert r.returncode == 0, r.stderr
    return base


def _copy(parts: Path, name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(parts / name, tmp_path / name, symlinks=True))


def test_a_truncated_part_is_refused_or_merged_as_partial(parts, tmp_path):
    s2 = _copy(parts, "s2", tmp_path)
    log = (s2 / "results.jsonl").read_bytes().splitlines(keepends=True)
    (s2 / "results.jsonl").write_bytes(b"".join(log[: len(log) // 2]))
    with pytest.raises(UsageError, match=r"of the \d+ rows its run.json plans are missing"):
        merge_runs([parts / "s1", s2], tmp_path / "m", quiet=True)
    assert not (tmp_path / "m" / "run.json").exists()
    r = run_bench("merge", str(parts / "s1"), str(s2), "--out", str(tmp_path / "p"), "--allow-partial", "--quiet")
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "p" / "run.json").read_text())
    assert doc["status"] == "partial"
    assert len(doc["missing_rows"]) == len(log) - len(log) // 2
    assert "marked partial" in r.stderr and "computed again" not in r.stderr


def test_parts_with_different_metrics_need_a_flag(parts, tmp_path):
    with pytest.raises(UsageError, match=r"metrics: si_sdr only in .*s1, lsd only in .*s2lsd"):
        merge_runs([parts / "s1", parts / "s2lsd"], tmp_path / "m", quiet=True)
    out = merge_runs([parts / "s1", parts / "s2lsd"], tmp_path / "mixed", quiet=True, allow_mixed=True)
    assert out.n_items == 4


def test_missing_files_and_conflicting_rows_are_refused(parts, tmp_path):
    s2 = _copy(parts, "s2", tmp_path)
    wav = next((s2 / "audio" / "natural").glob("*.wav"))
    wav.unlink()
    with pytest.raises(UsageError, match=f"file.s. its run.json plans are missing .audio/natural/{wav.name}"):
        merge_runs([parts / "s1", s2], tmp_path / "m", quiet=True)
    s1 = _copy(parts, "s1", tmp_path)
    lines = (s1 / "results.jsonl").read_text().splitlines()
    row = json.loads(next(x for x in lines if '"si_sdr"' in x))
    row["value"] = 1.0
    (s1 / "results.jsonl").write_text("\n".join([*lines, json.dumps(row)]) + "\n")
    with pytest.raises(UsageError, match="given twice with different values"):
        merge_runs([s1, parts / "s2"], tmp_path / "m2", quiet=True)


def test_a_symbolic_link_in_a_part_is_refused(parts, tmp_path):
    s2 = _copy(parts, "s2", tmp_path)
    wav = next((s2 / "audio" / "natural").glob("*.wav"))
    wav.unlink()
    os.symlink("/etc/passwd", wav)
    with pytest.raises(UsageError, match="symbolic link"):
        merge_runs([parts / "s1", s2], tmp_path / "m", quiet=True)
    assert not (tmp_path / "m").exists() or not any((tmp_path / "m").rglob("*.wav"))


@pytest.mark.parametrize("bad", ["../../../../x", "/tmp/x"])
def test_hostile_ids_in_a_part_are_refused(parts, tmp_path, bad):
    s2 = _copy(parts, "s2", tmp_path)
    doc = json.loads((s2 / "run.json").read_text())
    old = doc["corpus"]["items"][0]["id"]
    doc["corpus"]["items"][0]["id"] = bad
    (s2 / "run.json").write_text(json.dumps(doc))
    log = (s2 / "results.jsonl").read_text().replace(f'"utterance": "{old}"', f'"utterance": {json.dumps(bad)}')
    (s2 / "results.jsonl").write_text(log)
    with pytest.raises(UsageError, match="cannot name files in a run folder"):
        merge_runs([parts / "s1", s2], tmp_path / "m", quiet=True)
