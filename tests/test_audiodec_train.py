"""AudioDec training recipes: stage 1 learns, stage 2 / vocoder steps update the right weights, resume."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from systems.audiodec.checkpoint import build_model, read_checkpoint, save_checkpoint
from systems.audiodec.config import ModelConfig, parse_config
from systems.audiodec.train import Trainer, TrainRequest
from tests.audiodec_util import tiny_raw, write_speech_folder

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _small(name: str = "symAD_c16_tiny", **gp: object) -> ModelConfig:
    raw = tiny_raw(name, **gp)
    raw.update(
        batch_size=2, batch_length=9600, adv_batch_length=6400, log_interval_steps=1, save_interval_steps=1000
    )
    return parse_config(raw, name)


def _ae(**extra: object) -> ModelConfig:
    return _small(encode_channels=4, decode_channels=4, code_dim=16, codebook_size=256, **extra)


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _changed(before: dict[str, torch.Tensor], module: torch.nn.Module, prefix: str) -> bool:
    now = module.state_dict()
    return any(
        not torch.equal(before[k], now[k]) for k in before if k.startswith(prefix) and "pad_buffer" not in k
    )


def test_stage1_lowers_mel_loss_by_30_percent_in_50_steps(tmp_path: Path) -> None:
    data = write_speech_folder(tmp_path / "data")
    trainer = Trainer(
        TrainRequest("autoencoder", _ae(), str(data), tmp_path / "out", steps=50, progress=False)
    )
    losses = [trainer.step()["mel"] for _ in range(50)]
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last <= 0.7 * first, (first, last)


def _stage1_checkpoint(tmp_path: Path, cfg: ModelConfig) -> Path:
    path = tmp_path / "stage1" / "checkpoint-10steps.pkl"
    save_checkpoint(path, cfg, build_model(cfg), steps=10)
    return path


def test_stage2_step_updates_decoder_only(tmp_path: Path) -> None:
    data = write_speech_folder(tmp_path / "data", n=2)
    cfg = _ae()
    init = _stage1_checkpoint(tmp_path, cfg)
    trainer = Trainer(
        TrainRequest("autoencoder-gan", cfg, str(data), tmp_path / "gan", init=init, progress=False)
    )
    assert trainer.steps == 10  # continues the stage-1 step count
    gen_before, disc_before = _snapshot(trainer.model), _snapshot(trainer.disc)
    logs = trainer.step()
    assert {"mel", "adv", "fm", "disc"} <= set(logs)
    assert _changed(gen_before, trainer.model, "decoder.")
    for part in ("encoder.", "projector.", "quantizer."):
        assert not _changed(gen_before, trainer.model, part), part
    assert _changed(disc_before, trainer.disc, "")


def test_vocoder_step_uses_code_statistics_and_updates_weights(tmp_path: Path) -> None:
    data = write_speech_folder(tmp_path / "data", n=2)
    analyzer = _stage1_checkpoint(tmp_path, _ae())
    vcfg = _small("AudioDec_v1_c16_tiny", in_channels=16, channels=16)
    trainer = Trainer(
        TrainRequest("vocoder", vcfg, str(data), tmp_path / "voc", analyzer=analyzer, progress=False)
    )
    voc = trainer.model
    assert not torch.allclose(voc.mean, torch.zeros_like(voc.mean))
    assert not torch.allclose(voc.scale, torch.ones_like(voc.scale))
    before, disc_before = _snapshot(voc), _snapshot(trainer.disc)
    trainer.step()
    assert _changed(before, voc, "upsamples.") and _changed(before, voc, "output_conv.")
    assert torch.equal(before["mean"], voc.state_dict()["mean"])
    assert _changed(disc_before, trainer.disc, "")
    last = trainer.save()
    saved = read_checkpoint(last)
    assert "upsamples.0.deconv.weight_g" in saved["model"]["generator"]
    assert Path(trainer.cfg.raw["analyzer"]) == analyzer.resolve()


def test_resume_and_seeded_determinism(tmp_path: Path) -> None:
    data = write_speech_folder(tmp_path / "data", n=2)

    def run(out: Path, steps: int) -> Trainer:
        t = Trainer(TrainRequest("autoencoder", _ae(), str(data), out, steps=steps, seed=5, progress=False))
        t.run()
        return t

    a, b = run(tmp_path / "a", 2), run(tmp_path / "b", 2)
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k]), k
    resumed = run(tmp_path / "a", 1)
    assert resumed.steps == 3
    assert (tmp_path / "a" / "checkpoint-3steps.pkl").is_file()
    lines = (tmp_path / "a" / "train_log.jsonl").read_text().splitlines()
    assert len(lines) == 3
