"""SPF training: the loss falls, resuming is exact, and ``bench train spf`` runs a codec end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import tone_folder

from systems.spf.config import preset
from systems.spf.data import Pair, align
from systems.spf.train import Trainer, train_loop

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _pairs(n: int = 4) -> list[Pair]:
    rng = np.random.default_rng(0)
    t = np.arange(24000) / 48000
    out = []
    for i in range(n):
        clean = 0.3 * np.sin(2 * np.pi * (180 + 40 * i) * t) * np.sin(2 * np.pi * 2 * t) ** 2
        coded = clean + 0.02 * rng.standard_normal(len(t))
        out.append(Pair(clean.astype(np.float32), coded.astype(np.float32), "synthetic", str(i)))
    return out


def test_tiny_training_loss_falls_by_30_percent(tmp_path):
    trainer = Trainer(preset("tiny"))
    losses = train_loop(trainer, _pairs(), 100, tmp_path, {"codecs": ["synthetic"]})
    assert len(losses) == 100
    first, last = np.mean(losses[:10]), np.mean(losses[-10:])
    assert last <= 0.7 * first, (first, last)
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert log[-1]["step"] == 100
    assert (tmp_path / "last.pt").is_file()


def test_resume_continues_exactly(tmp_path):
    cfg = preset("tiny").updated({"train": {"save_every": 5}})
    straight = Trainer(cfg)
    train_loop(straight, _pairs(2), 10, tmp_path / "a", {})
    first = Trainer(cfg)
    train_loop(first, _pairs(2), 5, tmp_path / "b", {})
    resumed = Trainer(cfg)
    resumed.load_train_state(torch.load(tmp_path / "b" / "last.pt", weights_only=True))
    assert resumed.step == 5
    train_loop(resumed, _pairs(2), 10, tmp_path / "b", {})
    for (k, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), k
    for k, a in straight.ema.shadow.items():
        assert torch.allclose(a, resumed.ema.shadow[k], atol=1e-6), k


def test_align_undoes_a_codec_delay():
    rng = np.random.default_rng(1)
    clean = rng.standard_normal(4800).astype(np.float32)
    delayed = np.concatenate([np.zeros(37, np.float32), clean[:-37]])
    coded, lag = align(clean, delayed)
    assert lag == 37 and len(coded) == len(clean)
    np.testing.assert_allclose(coded[: 4800 - 37], clean[: 4800 - 37])
    from systems.spf.data import common_lag

    pairs = [(clean, delayed), (clean[::-1].copy(), np.concatenate([np.zeros(37, np.float32), clean[::-1][:-37]]))]
    assert common_lag(pairs, 100) == 37


def test_bench_train_spf_runs_opus_end_to_end(tmp_path):
    from systems import SYSTEMS, RunSettings

    reason = SYSTEMS.get("opus").unavailable_reason(RunSettings())
    if reason:
        pytest.skip(f"opus unavailable: {reason}")
    from bench.cli import main

    data = tone_folder(tmp_path / "data")
    out = tmp_path / "run"
    args = ["train", "spf", "--codec", "opus", "--data", str(data), "--out", str(out), "--preset", "tiny",
            "--steps", "3", "--device", "cpu", "--threads", "1"]
    assert main(args) == 0
    (cache,) = (out / "pairs").iterdir()
    assert cache.name.startswith("opus-")
    assert sorted(p.name for p in cache.iterdir()) == ["u0.flac", "u1.flac"]
    ckpt = torch.load(out / "spf.pt", weights_only=True)
    assert ckpt["meta"]["codecs"] == ["opus"] and ckpt["meta"]["step"] == 3 and "train_state" not in ckpt
    assert main([*args[:-6], "--preset", "tiny", "--steps", "5", "--resume"]) == 0
    assert torch.load(out / "spf.pt", weights_only=True)["meta"]["step"] == 5
