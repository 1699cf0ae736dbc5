"""Reverse-process samplers: predictor-corrector and probability-flow ODE, with exact NFE counting.

Both start from ``y + std(1) z`` (the OUVE marginal at t = 1 around the coded signal) and integrate
from t = 1 down to ``t_eps``. Noise comes from a caller-supplied function so that seeding is exact.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from systems.spf.sde import OUVESDE

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
        name: "pc" or "ode".
        steps: PC: N reverse steps (2N NFE); ODE: k Euler steps (k NFE).
        snr: annealed-Langevin corrector SNR (PC only).
    """

    name: str
    steps: int
    snr: float

    def expected_nfe(self) -> int:
        """Network evaluations one trajectory takes."""
        return SAMPLERS[self.name][1](self.steps)


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


#: name -> (sampler function, steps -> NFE per trajectory)
SAMPLERS: dict[str, tuple[Callable[..., torch.Tensor], Callable[[int], int]]] = {
    "pc": (sample_pc, lambda n: 2 * n),
    "ode": (sample_ode, lambda n: n),
}


def run_sampler(
    settings: SamplerSettings, score_fn: ScoreFn, sde: OUVESDE, y: torch.Tensor, noise: NoiseFn
) -> tuple[torch.Tensor, int]:
    """Run a registered sampler. Returns (sample ``[B, 1, F, N]``, NFE per trajectory)."""
    if settings.name not in SAMPLERS:
        raise ValueError(f"unknown SPF sampler {settings.name!r}; known: {sorted(SAMPLERS)}")
    counter = CountingScore(score_fn)
    fn = SAMPLERS[settings.name][0]
    with torch.no_grad():
        x = fn(counter, sde, y, noise, settings.steps, settings.snr)
    return x, counter.nfe
