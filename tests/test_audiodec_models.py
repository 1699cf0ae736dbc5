"""AudioDec models: official parameter names, shapes and counts; checkpoints and configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from systems.audiodec.checkpoint import build_model, load_model, read_checkpoint, save_checkpoint
from systems.audiodec.config import load_config, packaged_config, parse_config
from systems.audiodec.generator import Generator
from systems.audiodec.vocoder import Vocoder
from tests.audiodec_util import header_counts, hop300_shapes, official_shapes, tiny_config, tiny_raw

SECTIONS = {
    "symAD_c16_vctk_48000_hop320": "symAD_c16_vctk_48000_hop320",
    "symAD_vctk_48000_hop300": "symAD_vctk_48000_hop300",
    "v1": "AudioDec_v1_symAD_vctk_48000_hop300_clean",
}


def _reference(section: str) -> dict[str, tuple[int, ...]]:
    return hop300_shapes() if section == "symAD_vctk_48000_hop300" else official_shapes()[section]


def _official_state(section: str) -> dict[str, torch.Tensor]:
    """Random tensors under the official names and shapes (as a downloaded checkpoint would hold)."""
    g = torch.Generator().manual_seed(0)
    return {k: torch.randn(shape, generator=g) for k, shape in _reference(section).items()}


@pytest.mark.parametrize(
    "section,expected_params",
    [("symAD_c16_vctk_48000_hop320", 9_504_608), ("symAD_vctk_48000_hop300", 7_939_936), ("v1", 19_461_090)],
)
def test_official_names_load_strictly_and_counts_match(section: str, expected_params: int) -> None:
    model = build_model(load_config(packaged_config(SECTIONS[section])))
    assert sum(p.numel() for p in model.parameters()) == expected_params
    assert header_counts()[section] == (expected_params, len(model.state_dict()))
    state = _official_state(section)
    assert len(state) == len(model.state_dict())
    model.load_state_dict(state, strict=True)
    again = model.state_dict()
    assert set(again) == set(state)
    for k in ("decoder.conv2.conv.weight", "input_conv.conv.weight_v"):
        if k in state:
            assert torch.equal(again[k], state[k])


def test_c16_key_counts_and_buffers() -> None:
    model = build_model(load_config(packaged_config("symAD_c16_vctk_48000_hop320")))
    sd = model.state_dict()
    counts = {
        top: sum(1 for k in sd if k.startswith(top + "."))
        for top in ("encoder", "decoder", "projector", "quantizer")
    }
    assert counts == {"encoder": 50, "decoder": 52, "projector": 2, "quantizer": 48}
    assert sd["quantizer.codebook.layers.15.embed"].shape == (64, 1024)
    assert "encoder.conv_blocks.0.res_units.2.conv1.pad_buffer" in sd


def test_vocoder_old_weight_norm_names_round_trip() -> None:
    model = build_model(load_config(packaged_config("AudioDec_v1_c16_tiny")))
    sd = model.state_dict()
    assert any(k.endswith(".weight_g") for k in sd) and not any("parametrizations" in k for k in sd)
    sd["output_conv.conv.weight_v"] = torch.full_like(sd["output_conv.conv.weight_v"], 0.5)
    model.load_state_dict(sd, strict=True)
    assert torch.equal(
        model.output_conv.conv.parametrizations.weight.original1, sd["output_conv.conv.weight_v"]
    )


def test_saved_checkpoint_round_trips_in_official_layout(tmp_path: Path) -> None:
    cfg = tiny_config()
    gen = build_model(cfg)
    assert isinstance(gen, Generator)
    with torch.no_grad():
        gen.decoder.conv2.conv.weight.add_(0.1)
    path = tmp_path / "exp" / "checkpoint-7steps.pkl"
    save_checkpoint(path, cfg, gen, optimizer={"generator": {}}, steps=7, epochs=1)
    ckpt = read_checkpoint(path)
    assert set(ckpt) == {"model", "optimizer", "scheduler", "steps", "epochs"}
    assert ckpt["steps"] == 7 and set(ckpt["model"]) == {"generator"}
    assert (path.parent / "config.yml").is_file()
    loaded, lcfg = load_model(path)
    assert lcfg.generator == cfg.generator
    for k, v in gen.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
    x = torch.randn(1, 1, 3200)
    gen.eval()
    with torch.no_grad():
        assert torch.allclose(loaded(x)[0], gen(x)[0])


def test_vocoder_checkpoint_keeps_official_key_names(tmp_path: Path) -> None:
    cfg = parse_config(tiny_raw("AudioDec_v1_c16_tiny"), "tiny vocoder")
    voc = build_model(cfg)
    assert isinstance(voc, Vocoder)
    voc.set_stats(torch.full((32,), 0.25), torch.full((32,), 2.0))
    path = tmp_path / "checkpoint-1steps.pkl"
    save_checkpoint(path, cfg, voc, steps=1)
    state = read_checkpoint(path)["model"]["generator"]
    assert "blocks.0.conv_out.weight_g" in state and "mean" in state
    loaded, _ = load_model(path)
    assert torch.equal(loaded.mean, torch.full((32,), 0.25))


def test_config_rejects_unknown_keys_and_accepts_official_ones(tmp_path: Path) -> None:
    raw = tiny_raw()
    raw.update({"paradigm": "efficient", "outdir": "exp/x", "use_stft_loss": False})
    assert parse_config(raw, "ok").kind == "autoencoder"
    raw["lamda_mel_loss"] = 1.0
    with pytest.raises(ValueError, match="lamda_mel_loss.*lambda_mel_loss"):
        parse_config(raw, "typo.yml")
    bad = tiny_raw(encode_chanels=8)
    with pytest.raises(ValueError, match="generator_params: unknown key 'encode_chanels'"):
        parse_config(bad, "gp.yml")
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(tiny_raw()))
    assert load_config(path).generator.codebook_num == 16


def test_mismatched_weights_name_the_file(tmp_path: Path) -> None:
    cfg = tiny_config()
    path = tmp_path / "checkpoint-1steps.pkl"
    save_checkpoint(path, cfg, build_model(cfg))
    other = tiny_raw(code_dim=16)
    (tmp_path / "config.yml").write_text(yaml.safe_dump(other))
    with pytest.raises(ValueError, match="checkpoint-1steps.pkl"):
        load_model(path)
