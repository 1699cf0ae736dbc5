"""Listening tests a crowd can take: strict test.json, pairs naming left-out systems, P.808 practice on the
server side (trial times, fast-trial screening, sessions bounded) and, in Chromium, pages that work on a
phone (ACR answers in view, touch swipes on MUSHRA sliders scroll) and a failed headphone check that ends
the session."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench.cli import main as bench_main
from listening_test.build import BuildOptions, build_test
from listening_test.definition import TestDefinition
from tests.listen_util import make_run_folder


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return make_run_folder(tmp_path_factory.mktemp("run"), n_utts=3, seconds=1.0)


def test_pairs_naming_a_system_the_test_leaves_out_is_a_one_line_error(run_dir, tmp_path, capsys):
    code = bench_main(["listen", "build", str(run_dir), "--type", "ccr", "--pairs", "noisy:anchor70",
                       "--out", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "anchor70" in err and "allowed: reference, noisy" in err
    assert not (tmp_path / "a" / "test.json").exists()


def test_test_json_is_strict_json_with_a_trap(run_dir, tmp_path):
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed (speaks the trap messages)")
    build_test(BuildOptions(run_dir=run_dir, out=tmp_path, type="mos", items=1, seconds=0.6, traps=1))
    text = (tmp_path / "test.json").read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"test.json holds {c}, which is not JSON"))
    traps = [s for it in data["items"] for s in it["stimuli"] if s["system"].startswith("trap_")]
    assert traps and all(-40 < s["loudness_lufs"] < -10 for s in traps)
    loaded = TestDefinition.load(tmp_path).items[0]
    assert [s.loudness_lufs for s in loaded.stimuli] == [s["loudness_lufs"] for s in data["items"][0]["stimuli"]]
