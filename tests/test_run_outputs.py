"""What a run writes: byte-identical WAVs between identical runs, readable by others, modes from the umask."""

from __future__ import annotations

import stat
import subprocess

import numpy as np
import pytest
import scipy.io.wavfile
import soundfile as sf
from conftest import REPO, bench_cmd

ARGS = ["--systems", "natural,anchor35", "--data", "demo", "--limit", "2", "--metrics", "si_sdr", "--workers", "1"]


def _run(out, umask=0o022, *extra):
    r = subprocess.run(bench_cmd("run", *ARGS, "--out", str(out), *extra), capture_output=True, text=True, cwd=REPO,
                       timeout=600, umask=umask, check=False)
    assert r.returncode == 0, r.stderr
    return out


def _files(out):
    return sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())


def test_identical_runs_write_identical_wavs_that_other_readers_read(tmp_path):
    a, b = _run(tmp_path / "a", 0o022, "--no-report"), _run(tmp_path / "b", 0o022, "--no-report")
    wavs = [p for p in _files(a) if p.suffix == ".wav" and p.parts[0] in ("audio", "reference")]
    assert len(wavs) == 2 * 3  # two references, two outputs of each system
    for rel in wavs:
        data = (a / rel).read_bytes()
        assert b"PEAK" not in data[:256]  # libsndfile's PEAK chunk holds the time of writing
        assert data == (b / rel).read_bytes(), rel
        x, sr = sf.read(a / rel, dtype="float32")
        rate, y = scipy.io.wavfile.read(a / rel)
        assert sr == rate == 48000 and y.dtype == np.float32 and np.array_equal(x, y)


def test_wav_bytes_do_not_depend_on_when_they_are_written(tmp_path):
    import time

    from bench.runfolder.wav import write_run_wav

    x = np.random.default_rng(0).normal(0, 0.1, (4800, 2)).astype(np.float32)
    write_run_wav(tmp_path / "1.wav", x)
    time.sleep(1.1)
    write_run_wav(tmp_path / "2.wav", x)
    assert (tmp_path / "1.wav").read_bytes() == (tmp_path / "2.wav").read_bytes()
    y, sr = sf.read(tmp_path / "1.wav", dtype="float32", always_2d=True)
    assert sr == 48000 and np.array_equal(x, y)


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_outputs_honour_the_umask(tmp_path, umask):
    out = _run(tmp_path / "run", umask)
    files = _files(out)
    names = {str(p) for p in files}
    assert {"results.csv", "summary.csv", "run.json", "results.jsonl"} <= names
    assert any(p.suffix == ".wav" for p in files) and any(p.parts[0] == "alignment" for p in files)
    want = 0o666 & ~umask
    modes = {str(p): stat.S_IMODE((out / p).stat().st_mode) for p in files}
    assert {p: m for p, m in modes.items() if m != want} == {}, oct(want)
