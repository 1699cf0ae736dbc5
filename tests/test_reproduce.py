"""``bench reproduce scoredec`` end to end on CPU: a tiny post-filter on a few demo-corpus files."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
import torch
from conftest import demo_clips

from bench.cli import main

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_reproduce_scoredec_trains_evaluates_and_resumes(tmp_path, capsys):
    from systems import SYSTEMS, RunSettings

    if SYSTEMS.get("opus").unavailable_reason(RunSettings()):
        pytest.skip("opus unavailable")
    data = demo_clips(tmp_path / "data", n=2, seconds=1.0)  # longer than a training crop (0.5 s)
    out = tmp_path / "repro"
    args = ["reproduce", "scoredec", "--train-data", f"folder:{data}", "--eval-data", f"folder:{data}",
            "--preset", "demo", "--steps", "2", "--spf-steps", "1", "--out", str(out), "--threads", "1",
            "--workers", "1", "--metrics", "si_sdr", "--device", "cpu"]
    assert main(args) == 0
    assert "deprecated" not in capsys.readouterr().err
    estimate = json.loads((out / "estimate.json").read_text())
    assert estimate["device"] == "cpu"
    assert all(estimate[k] > 0 for k in ("code training speech", "train the post-filter",
                                           "evaluate the six systems", "seconds per network evaluation (4 s)"))
    ckpt = torch.load(out / "spf" / "spf.pt", weights_only=True)
    assert ckpt["meta"]["codecs"] == ["audiodec_stage1", "opus"] and ckpt["meta"]["step"] == 2
    with open(out / "eval" / "results.csv") as f:
        rows = list(csv.DictReader(f))
    systems = {r["system"] for r in rows if r["metric"] == "si_sdr" and r["value"] not in ("", "nan")}
    # the post-filtered systems carry their sampler in their spec (per-system options, no deprecated flags)
    assert systems == {"natural", "opus", "opus+spf[sampler=pc,steps=1]", "symad", "audiodec_stage1",
                       "audiodec_stage1+spf[sampler=pc,steps=1]"}
    run_json = json.loads((out / "eval" / "run.json").read_text())
    for name in ("opus+spf[sampler=pc,steps=1]", "audiodec_stage1+spf[sampler=pc,steps=1]"):
        spf = run_json["systems"][name]["provenance"]["spf"]
        assert spf["sampler"] == "pc" and spf["nfe_per_utterance"] == 2
    report = out / "eval" / "report"
    assert (report / "index.html").is_file() and (report / "demo" / "index.html").is_file()
    assert list((report / "plots").glob("waveform_*.png"))
    # rerun: nothing is retrained, the training log is unchanged
    log = (out / "spf" / "train_log.jsonl").read_text()
    shutil.rmtree(out / "eval" / "report")
    assert main(args) == 0
    assert (out / "spf" / "train_log.jsonl").read_text() == log
    assert (out / "eval" / "report" / "index.html").is_file()


def test_reproduce_without_data_is_a_usage_error(tmp_path, capsys):
    assert main(["reproduce", "scoredec", "--out", str(tmp_path / "x")]) == 2
    assert "--vctk" in capsys.readouterr().err
