"""The symad / audiodec_stage1 / audiodec systems: lengths, bits, weights choice, provenance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from systems import RunSettings, build_system, describe_systems
from systems.audiodec.checkpoint import build_model, save_checkpoint
from systems.audiodec.codec import measure_common_delay, measure_delay
from systems.audiodec.config import load_config, packaged_config, parse_config
from systems.audiodec.weights import STAGE1, STAGE2, VOCODER_V1
from systems.base import SystemUnavailable
from tests.audiodec_util import speechlike, tiny_raw


def _save(path: Path, raw: dict, **extra: object) -> Path:
    raw = {**raw, **extra}
    cfg = parse_config(raw, str(path))
    save_checkpoint(path, cfg, build_model(cfg), steps=1)
    return path


def test_c16_system_bits_are_24_kbps_and_lengths_exact(tmp_path: Path) -> None:
    cfg = load_config(packaged_config("symAD_c16_vctk_48000_hop320"))
    torch.manual_seed(0)
    ckpt = tmp_path / "c16" / "checkpoint-1steps.pkl"
    save_checkpoint(ckpt, cfg, build_model(cfg), steps=1)
    system = build_system("symad", RunSettings(checkpoints={"symad": ckpt}))
    assert system.nominal_kbps == pytest.approx(24.0)
    one_second = speechlike(1.0)
    odd = speechlike(0.4, seed=1)[:17771]
    outs = system.process_batch([one_second, odd], utterance_ids=["a", "b"])
    assert [o.audio.shape for o in outs] == [(48000,), (17771,)]
    assert all(o.audio.dtype == np.float32 for o in outs)
    assert outs[0].bits == 24000  # 150 frames x 16 codebooks x 10 bit
    assert outs[1].bits == 16 * 10 * int(np.ceil(17771 / 320))
    assert system.provenance()["weights"] == "override"


def test_demo_weights_are_used_by_default() -> None:
    options = RunSettings()
    reason = build_system.__globals__["SYSTEMS"].get("audiodec_stage1").unavailable_reason(options)
    assert reason is None, reason
    system = build_system("audiodec_stage1", options)
    prov = system.provenance()
    assert prov["weights"] == "demo"
    assert len(prov["sha256"]["encoder"]) == 64
    assert "(demo weights)" in system.description
    assert "ms algorithmic latency" in system.description
    assert prov["algorithmic_latency_ms"] >= 320 / 48
    x = speechlike(0.5, seed=2)
    out = system.process(x, utterance_id="u")
    assert out.audio.shape == x.shape and out.bits == 16 * 10 * 75
    ratio = float(np.sqrt(np.mean(out.audio**2) / np.mean(x**2)))
    assert 0.3 < ratio < 3.0, ratio  # a decoded signal of the input's level, not silence or noise


def test_official_layout_is_resolved_by_file_name(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    ae = tiny_raw(encode_channels=4, decode_channels=4, code_dim=16, codebook_size=64)
    _save(exp / STAGE1, ae)
    _save(exp / STAGE2, ae)
    hop300 = tiny_raw(encode_channels=4, decode_channels=4, code_dim=16, codebook_num=8,
                      enc_strides=[3, 4, 5, 5], dec_strides=[5, 5, 4, 3])  # fmt: skip
    _save(exp / "autoencoder/symAD_vctk_48000_hop300/checkpoint-200000steps.pkl", hop300)
    voc = tiny_raw("AudioDec_v1_c16_tiny", in_channels=16, channels=16, upsample_scales=[5, 5, 4, 3],
                   upsample_kernel_sizes=[10, 10, 8, 6])  # fmt: skip
    _save(
        exp / VOCODER_V1, voc, analyzer="exp/autoencoder/symAD_vctk_48000_hop300/checkpoint-200000steps.pkl"
    )
    options = RunSettings(weights_dir=tmp_path)
    symad = build_system("symad", options)
    assert symad.provenance()["files"]["decoder"].endswith("checkpoint-1000000steps.pkl")
    assert symad.provenance()["files"]["encoder"].endswith("checkpoint-500000steps.pkl")
    stage1 = build_system("audiodec_stage1", RunSettings(weights_dir=exp))
    assert stage1.provenance()["files"]["decoder"].endswith("checkpoint-500000steps.pkl")
    audiodec = build_system("audiodec", options)
    assert audiodec.nominal_kbps == pytest.approx(12.8)
    assert "12.8 kbps pair" in audiodec.description
    x = speechlike(0.3)
    out = audiodec.process(x, utterance_id="x")
    assert out.audio.shape == x.shape and out.bits == 8 * 10 * int(np.ceil(len(x) / 300))


def test_missing_official_weights_are_explained(tmp_path: Path) -> None:
    options = RunSettings(weights_dir=tmp_path)
    rows = {r.name: r for r in describe_systems(options)}
    assert not rows["symad"].available
    assert "checkpoint-500000steps.pkl not found" in (rows["symad"].reason or "")
    with pytest.raises(SystemUnavailable, match="AudioDec_v1_symAD_vctk_48000_hop300_clean"):
        build_system("audiodec", options)


def test_measure_delay_finds_a_known_shift() -> None:
    x = speechlike(0.5, seed=7)
    shifted = np.concatenate([np.zeros(137, np.float32), x])[: len(x)]
    assert measure_delay(x, shifted, 640) == 137


def test_common_delay_ignores_pitch_period_side_peaks() -> None:
    refs = [speechlike(0.5, seed=s) for s in (8, 9, 10)]
    decs = [np.concatenate([np.zeros(90, np.float32), r])[: len(r)] for r in refs]
    assert abs(measure_common_delay(refs, decs, 640) - 90) <= 2  # envelopes: 2-sample precision


@pytest.mark.parametrize("kind", ["symad", "audiodec"])
def test_demo_systems_offline_and_streaming_agree(kind: str, torch_one_thread: None) -> None:
    x = speechlike(0.3, seed=11)
    offline = build_system(kind, RunSettings()).process(x, utterance_id="o")
    streamed = build_system(kind, RunSettings(streaming=True)).process(x, utterance_id="s")
    assert offline.audio.shape == streamed.audio.shape == x.shape
    assert offline.bits == streamed.bits == 16 * 10 * int(np.ceil(len(x) / 320))
    assert np.max(np.abs(offline.audio - streamed.audio)) < 1e-4
