"""SGMSE+'s Schroedinger bridge (SBVE) in the SPF: marginals, samplers, training, ``bench train spf --sde sbve``."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import tone_folder

from systems.spf.config import preset, with_sde
from systems.spf.model import ScoreModel
from systems.spf.sampling import SamplerSettings, generator_noise, run_sampler
from systems.spf.sde import SBVESDE
from systems.spf.train import Trainer, train_loop

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _sb_config():
    return with_sde(preset("tiny"), "sbve")


@pytest.fixture(scope="module")
def sb_model() -> ScoreModel:
    torch.manual_seed(0)
    return ScoreModel(_sb_config()).eval()


def test_bridge_marginals_match_monte_carlo():
    """Simulate ``dx = sqrt(c) k^t dw`` from x0, pin each path to y at t = 1 (``x_t - s_t^2/s_1^2 (x_1 - y)``
    is the Brownian bridge), compare mean and variance with the closed form."""
    sde = SBVESDE(_sb_config().sde)
    gen = torch.Generator().manual_seed(1)
    n_paths, n_steps = 100_000, 400
    x0, y = 1.0, -0.5
    x = torch.full((n_paths,), x0, dtype=torch.float64)
    dt = 1.0 / n_steps
    kept = {}
    for i in range(n_steps):
        t = torch.tensor((i + 0.5) * dt, dtype=torch.float64)
        x = x + sde.diffusion(t) * torch.randn(n_paths, generator=gen, dtype=torch.float64) * math.sqrt(dt)
        if i + 1 in (100, 200, 300, 400):
            kept[i + 1] = x.clone()
    free_var_1 = float(kept[400].var())
    s2_1 = float(sde.sigma2(torch.tensor(1.0, dtype=torch.float64)))
    assert abs(free_var_1 - s2_1) < 0.02 * s2_1  # the unpinned VE process has variance s(1)^2
    for k in (100, 200, 300):
        t = torch.tensor([k * dt], dtype=torch.float64)
        pinned = kept[k] - float(sde.sigma2(t)) / s2_1 * (kept[400] - y)
        mean = float(sde.mean(torch.tensor([x0], dtype=torch.float64), torch.tensor([y], dtype=torch.float64), t))
        var = float(sde.std(t)) ** 2
        assert abs(float(pinned.mean()) - mean) < 0.01, (k, float(pinned.mean()), mean)
        assert abs(float(pinned.var()) - var) < 0.02 * var, (k, float(pinned.var()), var)
    ends = torch.tensor([0.0, 1.0], dtype=torch.float64)
    assert sde.std(ends).tolist() == [0.0, 0.0]
    m = sde.mean(torch.full((2,), x0, dtype=torch.float64), torch.full((2,), y, dtype=torch.float64), ends)
    assert m.tolist() == pytest.approx([x0, y])


def _y(model: ScoreModel, seed: int = 5) -> torch.Tensor:
    wave = torch.from_numpy(np.random.default_rng(seed).normal(0, 0.2, (1, 1000))).float()
    y, _ = model.stft.pad_frames(model.stft.forward(wave))
    return y


def _run(model: ScoreModel, name: str, steps: int, seed: int = 0) -> tuple[torch.Tensor, int]:
    settings = SamplerSettings(name, steps, 0.5, "sbve")
    return run_sampler(settings, model, model.sde, _y(model), generator_noise([torch.Generator().manual_seed(seed)]))


@pytest.mark.parametrize("name", ["ode", "sde"])
def test_bridge_samplers_take_n_evaluations(sb_model, name):
    for steps in (1, 2, 5):
        x, nfe = _run(sb_model, name, steps)
        assert nfe == steps == SamplerSettings(name, steps, 0.5, "sbve").expected_nfe()
        assert torch.isfinite(x.real).all() and torch.isfinite(x.imag).all()


@pytest.mark.parametrize("name", ["ode", "sde"])
def test_one_step_is_the_networks_prediction(sb_model, name):
    y = _y(sb_model)
    with torch.no_grad():
        direct = sb_model(y, y, torch.ones(1))
    x, _ = _run(sb_model, name, 1)
    assert torch.allclose(x, direct, atol=1e-6)
    assert float((direct - y).abs().max()) > 1e-3  # the network does change y: the check is not vacuous


def test_ode_with_the_true_clean_estimate_returns_it_and_sde_is_seeded(sb_model):
    y = _y(sb_model)
    x0 = _y(sb_model, seed=6)
    oracle = lambda x, y_, t: x0
    settings = SamplerSettings("ode", 4, 0.5, "sbve")
    out, _ = run_sampler(settings, oracle, sb_model.sde, y, generator_noise([torch.Generator().manual_seed(0)]))
    assert torch.allclose(out, x0, atol=1e-5)
    a, _ = _run(sb_model, "sde", 4, seed=3)
    b, _ = _run(sb_model, "sde", 4, seed=3)
    c, _ = _run(sb_model, "sde", 4, seed=4)
    assert torch.equal(a, b)
    assert float((a - c).abs().max()) > 1e-4


def test_sampler_of_the_other_sde_is_refused():
    with pytest.raises(ValueError, match="unknown for sde 'sbve'"):
        SamplerSettings("pc", 2, 0.5, "sbve")
    with pytest.raises(ValueError, match="output_scaling"):
        ScoreModel(preset("tiny").updated({"sde": {"name": "sbve"}}))


def test_tiny_sb_training_loss_falls_by_30_percent(tmp_path):
    from test_spf_train import _pairs

    trainer = Trainer(_sb_config())
    losses = train_loop(trainer, _pairs(), 100, tmp_path, {"codecs": ["synthetic"]})
    first, last = np.mean(losses[:10]), np.mean(losses[-10:])
    assert last <= 0.7 * first, (first, last)


def test_bench_train_spf_sbve_trains_resumes_and_post_filters(tmp_path):
    from bench.cli import main
    from systems import SYSTEMS, RunSettings, build_system

    if SYSTEMS.get("opus").unavailable_reason(RunSettings()):
        pytest.skip("opus unavailable")

    data = tone_folder(tmp_path / "data")
    out = tmp_path / "run"
    args = ["train", "spf", "--codec", "opus", "--data", str(data), "--out", str(out), "--preset", "tiny",
            "--sde", "sbve", "--device", "cpu", "--threads", "1"]
    assert main([*args, "--steps", "3"]) == 0
    ckpt = torch.load(out / "spf.pt", weights_only=True)
    assert ckpt["config"]["sde"]["name"] == "sbve" and ckpt["config"]["backbone"]["output_scaling"] == "data"
    assert ckpt["config"]["sampler"] == {**ckpt["config"]["sampler"], "name": "ode", "steps": 4}
    assert main([*args[:-6], "--sde", "ouve", "--steps", "5", "--resume"]) == 2  # another SDE: refused
    assert main([*args, "--steps", "5", "--resume"]) == 0
    assert torch.load(out / "spf.pt", weights_only=True)["meta"]["step"] == 5

    settings = RunSettings(checkpoints={"opus_spf": out / "spf.pt"})
    system = build_system("opus+spf[sampler=sde,steps=2]", settings)
    audio = (0.2 * np.random.default_rng(0).standard_normal(4801)).astype(np.float32)
    result = system.process(audio, utterance_id="a")
    assert result.audio.shape == audio.shape and np.isfinite(result.audio).all()
    info = result.info["spf"]
    assert info["nfe"] == 2 and info["sampler"] == "sde"
    assert system.provenance()["spf"]["sde"] == "sbve"
    with pytest.raises(ValueError, match="unknown for sde 'sbve'"):
        build_system("opus+spf[sampler=pc]", settings).process(audio, utterance_id="a")
