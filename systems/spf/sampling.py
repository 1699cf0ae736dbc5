"""Reverse-process samplers with exact NFE counting, registered per SDE.

OUVE (score model): predictor-corrector and probability-flow ODE; both start from ``y + std(1) z`` (the
OUVE marginal at t = 1 around the coded signal) and integrate from t = 1 down to ``t_eps``.
SBVE (data-prediction model): the bridge's first-order ODE and SDE updates (as in SGMSE+), starting at y
on the grid ``t_i = 1 - i / N``; the last step lands on t = 0, where the bridge's mean is the estimate
itself, so N = 1 returns the network's one-shot prediction ``x0_hat(y, y, 1)`` (SGMSE+ stops at t = 1e-4,
which leaves a ~1e-4 weight on y). Noise comes from a caller-supplied function so that seeding is exact.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from systems.spf.sde import OUVESDE, SBVESDE

#: ``noise(like) -> tensor`` of complex standard normals (E|z|^2 = 1) shaped like ``like``.
NoiseFn = Callable[[torch.Tensor], torch.Tensor]
ScoreFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class CountingScore:
    """Wraps a score function and counts network evaluations (one batched call = one NFE)."""

    def __init__(self, score_fn: ScoreFn) -> None:
        self.score_fn = score_fn
        self.nfe = 0

    def __call__(self, x: torch.Tensor, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        self.nfe += 1
        return self.score_fn(x, y, t)


@dataclass
class SamplerSettings:
    """Which sampler and how many steps.

    Attributes:
        name: a sampler of ``SAMPLERS_BY_SDE[sde]`` (OUVE: "pc", "ode"; SBVE: "ode", "sde").
        steps: OUVE PC: N reverse steps (2N NFE); every other sampler: N steps (N NFE).
        snr: annealed-Langevin corrector SNR (OUVE PC only).
        sde: the SDE the weights were trained with ("ouve", "sbve").
    """

    name: str
    steps: int
    snr: float
    sde: str = "ouve"

    def __post_init__(self) -> None:
        known = SAMPLERS_BY_SDE.get(self.sde)
        if known is None:
            raise ValueError(f"unknown SPF sde {self.sde!r}; known: {sorted(SAMPLERS_BY_SDE)}")
        if self.name not in known:
            raise ValueError(f"SPF sampler {self.name!r} unknown for sde {self.sde!r}; known: {sorted(known)}")
        if self.steps < 1:
            raise ValueError(f"SPF sampler steps must be >= 1, got {self.steps}")

    def expected_nfe(self) -> int:
        """Network evaluations one trajectory takes."""
        return SAMPLERS_BY_SDE[self.sde][self.name][1](self.steps)


def generator_noise(generators: list[torch.Generator]) -> NoiseFn:
    """Noise drawn item by item from per-item CPU generators (identical on every device and batch)."""

    def noise(like: torch.Tensor) -> torch.Tensor:
        parts = [torch.randn(like.shape[1:], generator=g, dtype=torch.complex64) for g in generators]
        return torch.stack(parts).to(device=like.device, dtype=like.dtype)

    return noise


def chunk_generator(seed: int, index: int) -> torch.Generator:
    """A CPU generator seeded from (utterance seed, chunk index)."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, index]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def sample_pc(
    score: ScoreFn, sde: OUVESDE, y: torch.Tensor, noise: NoiseFn, steps: int, snr: float
) -> torch.Tensor:
    """Reverse-diffusion predictor + one annealed-Langevin corrector step per step (2N NFE).

    Args:
        score: ``score(x, y, t)`` on ``[B, 1, F, N]`` complex.
        sde: the OUVE SDE.
        y: ``[B, 1, F, N]`` complex conditioner.
        noise: noise source.
        steps: N.
        snr: corrector SNR.
    Returns:
        ``[B, 1, F, N]`` the final predictor mean (no noise added at the last step).
    """
    if steps < 1:
        raise ValueError(f"PC sampler needs steps >= 1, got {steps}")
    b = y.shape[0]
    x = sde.prior_sample(y, noise(y))
    times = torch.linspace(1.0, sde.cfg.t_eps, steps, dtype=torch.float64).tolist()
    x_mean = x
    for i, t in enumerate(times):
        dt = t - times[i + 1] if i + 1 < len(times) else times[-1]
        vt = torch.full((b,), t, device=y.device, dtype=torch.float32)
        # corrector: annealed Langevin dynamics at the current noise level
        std = float(sde.std(torch.tensor(t, dtype=torch.float64)))
        step = 2.0 * (snr * std) ** 2
        x = x + step * score(x, y, vt) + (2.0 * step) ** 0.5 * noise(x)
        # predictor: one Euler-Maruyama step of the reverse SDE
        g = float(sde.diffusion(torch.tensor(t, dtype=torch.float64)))
        x_mean = x + (g * g * score(x, y, vt) - sde.drift(x, y)) * dt
        x = x_mean + g * dt**0.5 * noise(x)
    return x_mean


def sample_ode(
    score: ScoreFn, sde: OUVESDE, y: torch.Tensor, noise: NoiseFn, steps: int, snr: float
) -> torch.Tensor:
    """Probability-flow ODE ``dx = [f - g^2 score / 2] dt`` with Euler steps from 1 to t_eps (k NFE).

    Args/Returns as :func:`sample_pc` (``snr`` is unused).
    """
    if steps < 1:
        raise ValueError(f"ODE sampler needs steps >= 1, got {steps}")
    b = y.shape[0]
    x = sde.prior_sample(y, noise(y))
    times = torch.linspace(1.0, sde.cfg.t_eps, steps + 1, dtype=torch.float64).tolist()
    for t, t_next in itertools.pairwise(times):
        vt = torch.full((b,), t, device=y.device, dtype=torch.float32)
        g = float(sde.diffusion(torch.tensor(t, dtype=torch.float64)))
        velocity = sde.drift(x, y) - 0.5 * g * g * score(x, y, vt)
        x = x + velocity * (t_next - t)
    return x


def _bridge_grid(steps: int) -> list[float]:
    """``[1, 1 - 1/N, ..., 0]`` (N + 1 times)."""
    if steps < 1:
        raise ValueError(f"bridge sampler needs steps >= 1, got {steps}")
    return [1.0 - i / steps for i in range(steps)] + [0.0]


def _scalar(fn: Callable[[torch.Tensor], torch.Tensor], t: float) -> float:
    return float(fn(torch.tensor(t, dtype=torch.float64)))


def sample_bridge_ode(
    estimate: ScoreFn, sde: SBVESDE, y: torch.Tensor, noise: NoiseFn, steps: int, snr: float
) -> torch.Tensor:
    """Bridge ODE, first order: ``x' = mean(x0_hat, t') + std(t') / std(t) (x - mean(x0_hat, t))`` (N NFE).

    Args:
        estimate: ``estimate(x, y, t) -> x0_hat`` on ``[B, 1, F, N]`` complex.
        sde: the SBVE bridge.
        y: ``[B, 1, F, N]`` complex conditioner.
        noise: unused (the ODE is deterministic).
        steps: N.
        snr: unused.
    Returns:
        ``[B, 1, F, N]`` the state at t = 0 (the last estimate).
    """
    b = y.shape[0]
    x = sde.prior_sample(y, y)
    times = _bridge_grid(steps)
    for t, t_next in itertools.pairwise(times):
        vt = torch.full((b,), t, device=y.device, dtype=torch.float32)
        x0_hat = estimate(x, y, vt)
        std, std_next = _scalar(sde.std, t), _scalar(sde.std, t_next)
        # at t = 1 the state is y = mean(., 1) exactly (std 0): the residual term vanishes
        ratio = std_next / std if std > 0 else 0.0
        wx, wy = (float(w) for w in sde.weights(torch.tensor([t], dtype=torch.float64)))
        wx_n, wy_n = (float(w) for w in sde.weights(torch.tensor([t_next], dtype=torch.float64)))
        x = (wx_n - ratio * wx) * x0_hat + (wy_n - ratio * wy) * y + ratio * x
    return x


def sample_bridge_sde(
    estimate: ScoreFn, sde: SBVESDE, y: torch.Tensor, noise: NoiseFn, steps: int, snr: float
) -> torch.Tensor:
    """Bridge SDE, first order: ``x' = r x + (1 - r) x0_hat + s(t') sqrt(1 - r) z``, ``r = s(t')^2 / s(t)^2``
    (N NFE; no noise on the last step, which lands on t = 0). Args/Returns as :func:`sample_bridge_ode`."""
    b = y.shape[0]
    x = sde.prior_sample(y, y)
    times = _bridge_grid(steps)
    for i, (t, t_next) in enumerate(itertools.pairwise(times)):
        vt = torch.full((b,), t, device=y.device, dtype=torch.float32)
        x0_hat = estimate(x, y, vt)
        s2, s2_next = _scalar(sde.sigma2, t), _scalar(sde.sigma2, t_next)
        r = s2_next / s2
        x = r * x + (1.0 - r) * x0_hat
        if i + 1 < steps:
            x = x + (s2_next * (1.0 - r)) ** 0.5 * noise(x)
    return x


#: name -> (sampler function, steps -> NFE per trajectory), for the OUVE score model
SAMPLERS: dict[str, tuple[Callable[..., torch.Tensor], Callable[[int], int]]] = {
    "pc": (sample_pc, lambda n: 2 * n),
    "ode": (sample_ode, lambda n: n),
}

#: the same for the SBVE data-prediction model
SB_SAMPLERS: dict[str, tuple[Callable[..., torch.Tensor], Callable[[int], int]]] = {
    "ode": (sample_bridge_ode, lambda n: n),
    "sde": (sample_bridge_sde, lambda n: n),
}

#: ``sde.name`` -> its samplers
SAMPLERS_BY_SDE = {"ouve": SAMPLERS, "sbve": SB_SAMPLERS}


def run_sampler(
    settings: SamplerSettings, score_fn: ScoreFn, sde: OUVESDE | SBVESDE, y: torch.Tensor, noise: NoiseFn
) -> tuple[torch.Tensor, int]:
    """Run a registered sampler. Returns (sample ``[B, 1, F, N]``, NFE per trajectory)."""
    if settings.sde != sde.cfg.name:
        raise ValueError(f"SPF sampler settings are for sde {settings.sde!r} but the model uses {sde.cfg.name!r}")
    counter = CountingScore(score_fn)
    fn = SAMPLERS_BY_SDE[settings.sde][settings.name][0]
    with torch.no_grad():
        x = fn(counter, sde, y, noise, settings.steps, settings.snr)
    return x, counter.nfe
