"""The ``spf`` post-filter composed after a codec: length, info, weights selection, registry entries."""

from __future__ import annotations

import numpy as np
import pytest

from systems import COMPOSITES, POSTFILTERS, SYSTEMS, RunSettings, build_system
from systems.spf.checkpoint import save_checkpoint
from systems.spf.config import preset
from systems.spf.model import ScoreModel
from systems.spf.postfilter import DEMO_WEIGHTS, checkpoint_keys

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _need_opus() -> None:
    reason = SYSTEMS.get("opus").unavailable_reason(RunSettings())
    if reason:
        pytest.skip(f"opus unavailable: {reason}")


def test_registry_entries():
    assert "spf" in POSTFILTERS
    assert COMPOSITES["scoredec"] == "audiodec_stage1+spf"
    assert COMPOSITES["opus_spf"] == "opus+spf"
    assert checkpoint_keys("opus") == ["opus_spf", "opus+spf", "spf"]
    assert checkpoint_keys("audiodec_stage1")[0] == "scoredec"


def test_opus_spf_keeps_length_and_reports_sampler(tmp_path):
    _need_opus()
    ckpt = tmp_path / "tiny.pt"
    model = ScoreModel(preset("tiny"))
    save_checkpoint(ckpt, model, model.state_dict(), {"codecs": ["opus"]})
    options = RunSettings(checkpoints={"opus_spf": ckpt}, seed=7,
                          option_defaults={"spf": {"sampler": "pc", "steps": "2"}})
    system = build_system("opus_spf", options)
    assert system.name == "opus_spf"
    rng = np.random.default_rng(0)
    audio = [(0.2 * rng.standard_normal(n)).astype(np.float32) for n in (4801, 1234)]
    outs = system.process_batch(audio, utterance_ids=["a", "b"])
    assert [len(o.audio) for o in outs] == [4801, 1234]
    info = outs[0].info["spf"]
    assert info["nfe"] == 4 and info["sampler"] == "pc" and info["steps"] == 2
    assert info["seed"] == system.utterance_seed("a")
    prov = system.provenance()["spf"]
    assert prov["weights"] == str(ckpt) and prov["checkpoint_key"] == "opus_spf" and len(prov["sha256"]) == 64
    again = system.process_batch(audio[:1], utterance_ids=["a"])[0]
    np.testing.assert_allclose(again.audio, outs[0].audio, atol=1e-5)  # seeded per utterance


def test_demo_weights_are_the_default(tmp_path):
    _need_opus()
    if not DEMO_WEIGHTS.is_file():
        pytest.skip("demo weights not shipped in this checkout")
    assert DEMO_WEIGHTS.stat().st_size <= 8 * 1024 * 1024
    system = build_system("opus+spf[sampler=ode,steps=1]", RunSettings())
    assert system.name == "opus+spf[sampler=ode,steps=1]"
    audio = (0.1 * np.random.default_rng(0).standard_normal(9000)).astype(np.float32)
    out = system.process(audio, utterance_id="x")
    assert out.audio.shape == audio.shape and np.isfinite(out.audio).all()
    prov = system.provenance()["spf"]
    assert prov["weights"] == "demo" and prov["nfe_per_utterance"] == 1
    assert "opus" in prov["trained_on"]
