"""Inputs whose names or kinds could break a run: very long names, ids that cannot be file names, several bad
names at once, a FIFO in a manifest, and temporary files a killed run left behind."""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf
from conftest import read_rows, run_bench

RUN = ["--systems", "natural", "--metrics", "si_sdr", "--workers", "1", "--no-report"]


def _tone(path: Path, hz: float = 300.0) -> Path:
    t = np.arange(14400) / 48000
    sf.write(path, 0.3 * np.sin(2 * np.pi * hz * t), 48000, subtype="PCM_16")
    return path


def _manifest(path: Path, rows: list[tuple[str, Path]]) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "path"])
        w.writerows((i, str(p)) for i, p in rows)
    return path


def test_a_long_file_name_runs_and_an_id_too_long_for_a_file_is_refused_in_one_line(tmp_path):
    data = tmp_path / "corpus"
    data.mkdir()
    long_name = "x" * 240
    _tone(data / f"{long_name}.wav")
    _tone(data / "short.wav", 400)
    r = run_bench("run", "--data", f"folder:{data}", "--out", str(tmp_path / "run"), *RUN)
    assert r.returncode == 0, r.stderr
    rows = read_rows(tmp_path / "run" / "results.csv")
    assert {x["utterance"] for x in rows if x["metric"] == "si_sdr" and x["error"] == ""} == {long_name, "short"}

    m = _manifest(tmp_path / "m.csv", [("y" * 300, data / "short.wav"), ("ok", data / "short.wav")])
    r = run_bench("run", "--data", f"manifest:{m}", "--out", str(tmp_path / "run2"), *RUN)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "300 bytes" in r.stderr, r.stderr
    assert not (tmp_path / "run2").exists()


def test_a_folder_corpus_names_every_bad_file_name_at_once(tmp_path):
    data = tmp_path / "corpus"
    data.mkdir()
    for name in ("back\\slash", "control\x01char", "new\nline", "fine"):
        _tone(data / f"{name}.wav")
    r = run_bench("run", "--data", f"folder:{data}", "--out", str(tmp_path / "run"), *RUN)
    assert r.returncode == 2, r.stderr
    assert "3 utterance id(s)" in r.stderr
    for shown in ("back\\\\slash", "control\\x01char", "new\\nline"):
        assert shown in r.stderr, r.stderr


def test_a_fifo_in_a_manifest_is_one_error_row_not_a_hang(tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    m = _manifest(tmp_path / "m.csv", [("pipe", fifo), ("good", _tone(tmp_path / "good.wav"))])
    r = run_bench("run", "--data", f"manifest:{m}", "--out", str(tmp_path / "run"), *RUN, timeout=120)
    assert r.returncode == 0, r.stderr
    rows = {(x["utterance"], x["metric"]): x for x in read_rows(tmp_path / "run" / "results.csv")}
    assert "not a regular file (a FIFO)" in rows[("pipe", "skipped_input")]["error"]
    assert rows[("good", "si_sdr")]["error"] == ""


def test_temporary_files_of_a_killed_run_are_removed_at_the_next_start(tmp_path):
    data = tmp_path / "corpus"
    data.mkdir()
    _tone(data / "a.wav")
    out = tmp_path / "run"
    assert run_bench("run", "--data", f"folder:{data}", "--out", str(out), *RUN).returncode == 0
    dead = subprocess.Popen(["true"])
    dead.wait()  # a process that existed and is gone: its pid is in no live process now
    live = subprocess.Popen(["sleep", "60"])
    try:
        leftovers = [out / "audio" / "natural" / f".tmp-{dead.pid}-deadbeef.wav",
                     out / "reference" / f".tmp-{dead.pid}-0badcafe-a.json"]  # an older version's form
        kept = [out / f".tmp-{live.pid}-cafebabe.json",  # a live writer's
                out / ".tmp-notmine", out / "reference" / "my.tmp-1-deadbeef.wav"]
        for p in leftovers + kept:
            p.write_bytes(b"partial")
        r = run_bench("run", "--data", f"folder:{data}", "--out", str(out), *RUN)
        assert r.returncode == 0, r.stderr
        assert "removed 2 temporary file(s)" in r.stderr
        assert not any(p.exists() for p in leftovers) and all(p.exists() for p in kept)
        assert json.loads((out / "run.json").read_text())["status"] == "complete"
    finally:
        live.kill()
        live.wait()
