"""SPF building blocks: transform round trip, OUVE marginals vs Monte-Carlo, model size, samplers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from systems.spf.config import preset
from systems.spf.inference import enhance, plan_chunks
from systems.spf.model import ScoreModel
from systems.spf.ncsnpp import NCSNpp, count_parameters
from systems.spf.sampling import SamplerSettings, generator_noise, run_sampler
from systems.spf.sde import OUVESDE
from systems.spf.stft import CompressedSTFT


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """CI machines are shared: one intra-op thread is faster than two fighting for a core."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_model() -> ScoreModel:
    torch.manual_seed(0)
    return ScoreModel(preset("tiny")).eval()


def test_stft_round_trip_default_settings():
    cfg = preset("full").stft
    assert (cfg.n_fft, cfg.hop, cfg.window, cfg.alpha, cfg.beta) == (1534, 384, "hann", 0.5, 0.15)
    stft = CompressedSTFT(cfg)
    wave = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (2, 48000 + 123))).float()
    spec = stft.forward(wave)
    assert spec.shape == (2, 1, 768, (48000 + 123) // 384 + 1)
    back = stft.inverse(spec, wave.shape[-1])
    assert float((back - wave).abs().max()) < 1e-5
    # compression is what the spec says: beta |c|^alpha, phase kept
    raw = torch.stft(wave, 1534, 384, window=torch.hann_window(1534), center=True, return_complex=True)
    assert torch.allclose(spec[:, 0].abs(), 0.15 * raw.abs() ** 0.5, atol=1e-5)
    padded, n = stft.pad_frames(spec)
    assert padded.shape[-1] % 64 == 0 and n == spec.shape[-1]
    assert torch.equal(padded[..., :n], spec)


def test_ouve_marginals_match_monte_carlo():
    sde = OUVESDE(preset("full").sde)
    gen = torch.Generator().manual_seed(1)
    n_paths, n_steps = 100_000, 400
    x0, y = 1.0, -0.5
    x = torch.full((n_paths,), x0, dtype=torch.float64)
    dt = 1.0 / n_steps
    checks = {100: None, 200: None, 400: None}
    for i in range(n_steps):
        t = torch.tensor((i + 0.5) * dt, dtype=torch.float64)  # midpoint rule for the growing g(t)
        dw = torch.randn(n_paths, generator=gen, dtype=torch.float64) * math.sqrt(dt)
        x = x + sde.drift(x, torch.tensor(y, dtype=torch.float64)) * dt + sde.diffusion(t) * dw
        if i + 1 in checks:
            checks[i + 1] = (float(x.mean()), float(x.var()))
    for k, (mc_mean, mc_var) in checks.items():
        t = torch.tensor([k * dt], dtype=torch.float64)
        mean = float(sde.mean(torch.tensor([x0], dtype=torch.float64), torch.tensor([y], dtype=torch.float64), t))
        var = float(sde.std(t)) ** 2
        assert abs(mc_mean - mean) < 0.02 * abs(mean - y) + 1e-3, (k, mc_mean, mean)
        assert abs(mc_var - var) < 0.02 * var, (k, mc_var, var)
    assert float(sde.std(torch.zeros(1))) == 0.0


def test_full_size_backbone_has_65m_parameters():
    n = count_parameters(NCSNpp(preset("full").backbone))
    assert abs(n - 65e6) < 0.02 * 65e6, n


def _sample(model: ScoreModel, name: str, steps: int, seed: int) -> tuple[torch.Tensor, int]:
    y = model.stft.forward(torch.from_numpy(np.random.default_rng(5).normal(0, 0.2, (1, 1000))).float())
    y, _ = model.stft.pad_frames(y)
    gen = torch.Generator().manual_seed(seed)
    return run_sampler(SamplerSettings(name, steps, 0.5), model, model.sde, y, generator_noise([gen]))


def test_pc_sampler_counts_60_evaluations_and_is_seeded(tiny_model):
    a, nfe = _sample(tiny_model, "pc", 30, seed=3)
    b, _ = _sample(tiny_model, "pc", 30, seed=3)
    c, _ = _sample(tiny_model, "pc", 30, seed=4)
    assert nfe == 60
    assert torch.equal(a, b)
    assert float((a - c).abs().max()) > 1e-4


def test_ode_sampler_counts_k_evaluations(tiny_model):
    for k in (1, 7):
        x, nfe = _sample(tiny_model, "ode", k, seed=0)
        assert nfe == k
        assert torch.isfinite(x.real).all()


def test_enhance_keeps_length_chunks_and_reports_nfe(tiny_model):
    rng = np.random.default_rng(0)
    coded = [rng.normal(0, 0.1, 10000).astype(np.float32), rng.normal(0, 0.3, 777).astype(np.float32),
             np.zeros(500, dtype=np.float32)]
    tiny_model.cfg.sampler.chunk_seconds = 0.1  # 4800 samples: forces overlapping chunks
    tiny_model.cfg.sampler.overlap_seconds = 0.02
    s = SamplerSettings("ode", 3, 0.5)
    out = enhance(tiny_model, coded, [1, 2, 3], s, device="cpu", batch_size=2)
    again = enhance(tiny_model, coded[:1], [1], s, device="cpu", batch_size=1)
    assert [len(o) for o, _ in out] == [10000, 777, 500]
    assert out[0][1]["chunks"] == 3 and out[0][1]["nfe"] == 3 and out[0][1]["seed"] == 1
    assert out[0][1]["sampler"] == "ode" and out[0][1]["steps"] == 3
    np.testing.assert_allclose(out[0][0], again[0][0], atol=1e-5)  # batching does not change results
    assert np.all(out[2][0] == 0)  # silence stays silence
    # chunk plan covers the signal and every chunk has the full length
    plan = plan_chunks(30000, 12000, 2400, 64, 8)
    assert plan[0][0] == 0 and plan[-1][0] + plan[-1][1] == 30000
    assert all(n == 12000 and p >= n for _, n, p in plan)


@pytest.mark.parametrize(("name", "steps", "min_gain_db"), [("pc", 30, 35.0), ("ode", 8, 20.0)])
def test_samplers_recover_y_with_the_exact_score_of_clean_equals_coded(name, steps, min_gain_db):
    """With output_scaling std_skip and a zeroed network the score is exactly -(x - y)/std^2, the score of
    the OUVE marginal when clean == coded: both samplers must then return y (up to the t_eps noise)."""
    model = ScoreModel(preset("tiny").updated({"backbone": {"output_scaling": "std_skip"}})).eval()
    torch.nn.init.zeros_(model.backbone.output_layer.weight)
    torch.nn.init.zeros_(model.backbone.output_layer.bias)
    y = model.stft.forward(torch.from_numpy(np.random.default_rng(2).normal(0, 0.3, (1, 1500))).float())
    y, _ = model.stft.pad_frames(y)
    x, _ = run_sampler(SamplerSettings(name, steps, 0.5), model, model.sde, y,
                       generator_noise([torch.Generator().manual_seed(0)]))
    noise_energy = (x - y).abs().square().mean()
    prior_energy = model.sde.std(torch.ones(1)).square()  # E|x_1 - y|^2 at the start
    assert float(10 * torch.log10(prior_energy / noise_energy)) > min_gain_db
