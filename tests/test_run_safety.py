"""Nothing lost, nothing overwritten: hostile ids, one writer per run folder, clear CLI errors, skipped entries
and corrupt log lines are reported."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import REPO, read_rows

from bench.cli import main
from bench.corpora import DEMO_DIR, CorpusOptions, open_corpus

DEMO_F1 = DEMO_DIR / "demo_f_001.flac"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_manifest(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = ["id,path"] + [f"{i},{p}" for i, p in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _quick_run(data: str, out: Path, *extra: str) -> int:
    return main(["run", "--systems", "natural", "--data", data, "--metrics", "si_sdr", "--workers", "1",
                 "--out", str(out), "--no-report", "--quiet", *extra])


@pytest.mark.parametrize("bad_id", ["/tmp/evil", "../evil", "a/../../evil", "a//b", "a/./b", "", "a\x07b",
                                    "C:/evil", "a\\b"])
def test_unsafe_manifest_ids_are_refused_naming_the_line(tmp_path, capsys, bad_id):
    wav = tmp_path / "in.wav"
    sf.write(str(wav), sf.read(str(DEMO_F1))[0], 48000)
    manifest = tmp_path / "m.csv"
    with open(manifest, "w", newline="") as f:
        import csv

        w = csv.writer(f)
        w.writerows([["id", "path"], ["ok_1", str(wav)], [bad_id, str(wav)]])
    assert _quick_run(f"manifest:{manifest}", tmp_path / "run") == 2
    err = capsys.readouterr().err
    assert f"{manifest}, line 3" in err
    assert not (tmp_path / "run").exists()  # refused before anything was written
    assert not (tmp_path / "evil.wav").exists()


def test_an_id_equal_to_the_input_path_never_overwrites_the_input(tmp_path, capsys):
    data = tmp_path / "data"
    (data / "reference").mkdir(parents=True)
    x = sf.read(str(DEMO_F1))[0]
    wav = data / "reference" / "clip.wav"
    sf.write(str(wav), x, 48000, subtype="PCM_16")
    before = _sha(wav)
    absolute = _write_manifest(tmp_path / "abs.csv", [(str(wav.with_suffix("")), str(wav))])
    assert _quick_run(f"manifest:{absolute}", tmp_path / "run") == 2
    # a relative id whose reference file would be the input itself (the run folder holds the input)
    inside = _write_manifest(tmp_path / "rel.csv", [("clip", str(wav))])
    assert _quick_run(f"manifest:{inside}", data) == 2
    assert "one of the run's input files" in capsys.readouterr().err
    assert _sha(wav) == before


def test_run_folder_paths_stay_inside(tmp_path):
    from bench.runfolder.paths import RunDir, UnsafePath

    rd = RunDir(tmp_path / "run", inputs=[tmp_path / "run" / "reference" / "x.wav"])
    assert rd.reference_wav("a/b") == tmp_path / "run" / "reference" / "a" / "b.wav"
    with pytest.raises(UnsafePath, match="outside the run folder"):
        rd.reference_wav("../../etc/x")
    with pytest.raises(UnsafePath, match="input files"):
        rd.reference_wav("x")
    (tmp_path / "run" / "audio").mkdir(parents=True)
    os.symlink(tmp_path, tmp_path / "run" / "audio" / "natural")  # a symlink out of the folder
    with pytest.raises(UnsafePath, match="outside the run folder"):
        rd.audio_wav("natural", "y")


def test_a_second_run_on_the_same_folder_is_refused_and_a_stale_lock_taken_over(tmp_path, capsys):
    from bench.runlock import RunLock

    out = tmp_path / "run"
    out.mkdir()
    with RunLock(out):
        assert _quick_run("demo", out, "--limit", "1") == 2
        err = capsys.readouterr().err
        assert "in use by another bench run" in err and f"pid {os.getpid()}" in err
    assert not (out / "results.csv").exists()
    # a run killed while holding the lock: the kernel drops the lock, the file still names the dead run
    code = f"from pathlib import Path; from bench.runlock import RunLock; RunLock(Path({str(out)!r})).acquire(); " \
           "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    dead = subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False)
    assert dead.returncode == -signal.SIGKILL
    assert json.loads((out / ".lock").read_text())["pid"] != os.getpid()
    assert _quick_run("demo", out, "--limit", "1") == 0
    assert "taking over" in capsys.readouterr().err
    assert len(read_rows(out / "results.csv")) == 4  # si_sdr, si_sdr_raw, bitrate_kbps, lag_samples


@pytest.mark.parametrize(("extra", "message"), [
    (["--out", "{file}"], "is a file"),
    (["--out", "{file}/sub"], "cannot create the folder"),
    (["--metrics", ""], "--metrics is empty"),
    (["--max-lag-ms", "-5"], "--max-lag-ms"),
    (["--max-lag-ms", "nan"], "--max-lag-ms"),
    (["--executor", "nosuch"], "--executor"),
])
def test_cli_errors_exit_2_before_any_work(tmp_path, capsys, extra, message):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    out = tmp_path / "run"
    args = ["run", "--systems", "natural", "--data", "demo", "--limit", "1", "--no-report", "--quiet",
            "--out", str(out), *[e.format(file=a_file) for e in extra]]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()  # nothing was written: the check comes before any work
    assert a_file.read_text() == "x"


def test_merge_out_a_file_is_a_usage_error(tmp_path, capsys):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    run = tmp_path / "run"
    assert _quick_run("demo", run, "--limit", "1") == 0
    assert main(["merge", str(run), "--out", str(a_file)]) == 2
    assert "is a file" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_folder_corpus_lists_each_skipped_entry_with_its_reason(tmp_path):
    root = tmp_path / "data"
    (root / "spk").mkdir(parents=True)
    x = sf.read(str(DEMO_F1))[0]
    sf.write(str(root / "spk" / "a.wav"), x, 48000)
    os.symlink(root, root / "spk" / "loop")  # a folder symlink back to the top
    os.symlink(root / "missing.wav", root / "dangling.wav")
    os.symlink("self.wav", root / "self.wav")  # a symlink to itself
    (root / "notes.txt").write_text("not audio")
    have_mp3 = "MP3" in sf.available_formats()
    if have_mp3:
        sf.write(str(root / "b.mp3"), x, 48000, format="MP3")
    corpus = open_corpus(f"folder:{root}", CorpusOptions())
    ids = [u.id for u in corpus.utterances()]
    reasons = dict(corpus.skipped)
    assert ids == (["b", "spk/a"] if have_mp3 else ["spk/a"])
    assert "symlink loop" in reasons[str(root / "spk" / "loop")]
    assert "dangling symlink" in reasons[str(root / "dangling.wav")]
    assert "symlink loop" in reasons[str(root / "self.wav")]
    assert "notes.txt" in reasons[str(root)]
    if have_mp3:
        from bench.audio import load_input

        loaded = load_input(root / "b.mp3")
        assert loaded.source_rate == 48000 and abs(len(loaded.audio) - len(x)) < 4800


def test_corrupt_lines_in_the_results_log_are_counted_and_kept(tmp_path, capsys):
    out = tmp_path / "run"
    assert _quick_run("demo", out, "--limit", "2") == 0
    log = out / "results.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    assert len(lines) == 8  # 2 utterances x (si_sdr, si_sdr_raw, bitrate_kbps, lag_samples)
    lines[2] = '{"utterance": "demo_f_0\n'  # a damaged line in the middle
    log.write_text("".join(lines))
    before = {(r["utterance"], r["metric"]): r["value"] for r in read_rows(out / "results.csv")}
    capsys.readouterr()
    assert _quick_run("demo", out, "--limit", "2") == 0
    err = capsys.readouterr().err
    assert "skipped 1 corrupt line(s) (line 3: not valid JSON)" in err
    assert (out / "results.jsonl.corrupt").read_text() == '{"utterance": "demo_f_0\n'
    after = {(r["utterance"], r["metric"]): r["value"] for r in read_rows(out / "results.csv")}
    assert after == before  # the lost row was computed again, the rows after it were kept
    assert all(json.loads(line) for line in log.read_text().splitlines())
    assert _quick_run("demo", out, "--limit", "2") == 0
    assert "corrupt" not in capsys.readouterr().err  # repaired once, not reported forever


def test_stft_blocks_give_the_whole_transform():
    from metrics.dsp import stft, stft_blocks

    x = np.random.default_rng(0).standard_normal(48000).astype(np.float32)
    whole = stft(x, 1024, 256)
    blocks = list(stft_blocks(x, 1024, 256, block_frames=7))
    assert len(blocks) > 1 and max(b.shape[1] for b in blocks) == 7
    assert np.array_equal(np.concatenate(blocks, axis=1), whole)
    assert whole.shape == (513, 1 + (48000 - 1024) // 256)
