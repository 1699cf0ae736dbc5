"""The run folder module: run.json through the typed Manifest, its version checked on every read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench.runfolder import FORMAT_VERSION, Manifest, RunFolderError, read_manifest, write_manifest


def test_a_real_run_reads_and_writes_back_unchanged(demo_run: Path, tmp_path: Path):
    doc = json.loads((demo_run / "run.json").read_text())
    m = read_manifest(demo_run)
    assert isinstance(m, Manifest) and m.format_version == FORMAT_VERSION
    assert m.corpus.n == 4 and [i["id"] for i in m.corpus.items] == sorted(i["id"] for i in m.corpus.items)
    assert set(m.systems) == {"natural", "opus", "anchor35", "anchor70"}
    assert m.status == "complete"
    out = tmp_path / "run.json"
    write_manifest(out, m)
    again = json.loads(out.read_text())
    if doc["format_version"] == 1:  # the migration adds what version 2 records
        doc = {**doc, "format_version": 2, "config": {**doc["config"], "options": doc["config"].get("options")}}
    assert again == doc


def _with(tmp_path: Path, doc: object) -> Path:
    (tmp_path / "run.json").write_text(json.dumps(doc))
    return tmp_path


def test_version_checks_name_the_file_and_what_to_do(demo_run: Path, tmp_path: Path):
    doc = json.loads((demo_run / "run.json").read_text())
    with pytest.raises(RunFolderError, match=rf"run.json: format_version {FORMAT_VERSION + 1} was written by a "
                                             r"newer codec-bench; this one reads versions 1 to \d \(upgrade"):
        read_manifest(_with(tmp_path, {**doc, "format_version": FORMAT_VERSION + 1}))
    with pytest.raises(RunFolderError, match="format_version 0 is older than any this codec-bench reads"):
        read_manifest(_with(tmp_path, {**doc, "format_version": 0}))
    with pytest.raises(RunFolderError, match="no format_version; not a run folder written by codec-bench"):
        read_manifest(_with(tmp_path, {k: v for k, v in doc.items() if k != "format_version"}))
    with pytest.raises(RunFolderError, match="expected a JSON object, got list"):
        read_manifest(_with(tmp_path, [1]))
    (tmp_path / "run.json").write_text('{"format_version": 2, ')
    with pytest.raises(RunFolderError, match="run.json: not valid JSON"):
        read_manifest(tmp_path)
    with pytest.raises(RunFolderError, match=f"^{tmp_path / 'nowhere'}: no such folder$"):
        read_manifest(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunFolderError, match=f"^{tmp_path / 'empty'}: not a run folder \\(no run.json\\)$"):
        read_manifest(tmp_path / "empty")


def test_version_1_is_migrated_and_unknown_keys_are_kept(demo_run: Path, tmp_path: Path):
    doc = json.loads((demo_run / "run.json").read_text())
    doc["format_version"] = 1
    doc["config"].pop("options", None)
    doc["written_by_a_tool"] = {"x": 1}
    m = read_manifest(_with(tmp_path, doc))
    assert m.format_version == 2 and m.config["options"] is None
    assert m.extra == {"written_by_a_tool": {"x": 1}}
    shutil.copy(tmp_path / "run.json", tmp_path / "v1.json")
    write_manifest(tmp_path, m)
    assert json.loads((tmp_path / "run.json").read_text())["written_by_a_tool"] == {"x": 1}


def test_run_wavs_round_trip_and_bad_files_are_named(tmp_path: Path):
    import numpy as np
    import soundfile as sf

    from bench.errors import InputError
    from bench.runfolder.wav import read_run_wav, write_run_wav

    x = np.random.default_rng(1).normal(0, 0.1, 1600).astype(np.float32)
    for rate in (16000, 48000):
        y, sr = read_run_wav(write_run_wav(tmp_path / f"{rate}.wav", x, rate))
        assert sr == rate and np.array_equal(x, y)
    stereo = np.stack([x, -x / 2], axis=1)
    y, _ = read_run_wav(write_run_wav(tmp_path / "stereo.wav", stereo, 48000))
    assert np.allclose(y, x / 4)  # channels averaged
    with pytest.raises(InputError, match=r"16000.wav: sample rate 16000 Hz, 48000 Hz needed here"):
        read_run_wav(tmp_path / "16000.wav", 48000)
    sf.write(tmp_path / "odd.wav", x, 22050, subtype="FLOAT")
    with pytest.raises(InputError, match=r"odd.wav: sample rate 22050 Hz is not one a run folder holds"):
        read_run_wav(tmp_path / "odd.wav")
    write_run_wav(tmp_path / "nan.wav", np.full(100, np.nan, dtype=np.float32), 48000)
    with pytest.raises(InputError, match=r"nan.wav: contains NaN or infinite samples"):
        read_run_wav(tmp_path / "nan.wav")
    (tmp_path / "text.wav").write_text("not audio")
    with pytest.raises(InputError, match=r"text.wav: cannot be read"):
        read_run_wav(tmp_path / "text.wav")
    with pytest.raises(InputError, match=r"gone.wav: missing audio file"):
        read_run_wav(tmp_path / "gone.wav")


def test_summary_takes_each_metrics_direction_from_its_caller(tmp_path: Path):
    """summary.csv's higher_is_better comes from the directions given (the run folder package does not read
    the metric registry); an unaligned twin takes its metric's; rows of no metric stay empty."""
    import csv
    import subprocess
    import sys

    from bench.runfolder.results import Row
    from bench.runfolder.summary import write_summary_csv
    from metrics import metric_directions

    rows = [Row("u1", "s", "x", m, v) for m, v in [("si_sdr", 10.0), ("si_sdr_raw", 2.0), ("lsd", 1.0),
                                                   ("bitrate_kbps", 6.0)]]
    directions = metric_directions(r.metric for r in rows)
    assert directions == {"si_sdr": True, "lsd": False}
    write_summary_csv(tmp_path / "summary.csv", rows, directions)
    with open(tmp_path / "summary.csv", newline="") as f:
        got = {r["metric"]: r["higher_is_better"] for r in csv.DictReader(f)}
    assert got == {"si_sdr": "true", "si_sdr_raw": "true", "lsd": "false", "bitrate_kbps": ""}
    write_summary_csv(tmp_path / "flipped.csv", rows, {"si_sdr": False})
    with open(tmp_path / "flipped.csv", newline="") as f:
        assert {r["metric"]: r["higher_is_better"] for r in csv.DictReader(f)}["si_sdr_raw"] == "false"
    code = ("import sys, bench.runfolder.summary, bench.runfolder.paths; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('metrics', 'systems')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).parent.parent)
    assert loaded.stdout.strip() == "[]"
