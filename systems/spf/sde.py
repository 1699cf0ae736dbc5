"""The OUVE SDE: Ornstein-Uhlenbeck drift towards the coded signal y, variance-exploding noise.

``dx = theta (y - x) dt + g(t) dw`` with ``g(t) = sigma_min r^t sqrt(2 ln r)``, ``r = sigma_max / sigma_min``.

Marginal of x(t) given x(0) = x0:
    mean(t) = y + (x0 - y) e^{-theta t}
    var(t)  = int_0^t e^{-2 theta (t - s)} g(s)^2 ds
            = 2 ln r sigma_min^2 e^{-2 theta t} int_0^t e^{2 (theta + ln r) s} ds
            = sigma_min^2 ln r / (theta + ln r) * (r^{2t} - e^{-2 theta t}).
"""

from __future__ import annotations

import math

import torch

from systems.spf.config import SDEConfig


class OUVESDE:
    """Drift, diffusion and closed-form marginals of the OUVE SDE.

    Args:
        cfg: theta, sigma_min, sigma_max, t_eps.
    """

    def __init__(self, cfg: SDEConfig) -> None:
        if not (0 < cfg.sigma_min < cfg.sigma_max):
            raise ValueError(f"OUVE: need 0 < sigma_min < sigma_max, got {cfg.sigma_min}, {cfg.sigma_max}")
        if cfg.theta <= 0:
            raise ValueError(f"OUVE: theta must be > 0, got {cfg.theta}")
        if not (0 < cfg.t_eps < 1):
            raise ValueError(f"OUVE: t_eps must be in (0, 1), got {cfg.t_eps}")
        self.cfg = cfg
        self.theta = cfg.theta
        self.sigma_min = cfg.sigma_min
        self.sigma_max = cfg.sigma_max
        self.log_ratio = math.log(cfg.sigma_max / cfg.sigma_min)

    def drift(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``theta (y - x)``, same shape as x."""
        return self.theta * (y - x)

    def diffusion(self, t: torch.Tensor) -> torch.Tensor:
        """``g(t)`` for ``t [B]`` -> ``[B]``."""
        ratio = self.sigma_max / self.sigma_min
        return self.sigma_min * ratio**t * math.sqrt(2.0 * self.log_ratio)

    def mean(self, x0: torch.Tensor, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Marginal mean for ``x0, y [B, ...]`` and ``t [B]``."""
        decay = torch.exp(-self.theta * t).view(-1, *([1] * (x0.dim() - 1)))
        return y + (x0 - y) * decay

    def std(self, t: torch.Tensor) -> torch.Tensor:
        """Marginal standard deviation ``[B]`` (closed form, see module docstring)."""
        ratio = self.sigma_max / self.sigma_min
        var = (
            self.sigma_min**2
            * self.log_ratio
            / (self.theta + self.log_ratio)
            * (ratio ** (2.0 * t) - torch.exp(-2.0 * self.theta * t))
        )
        return var.sqrt()

    def prior_sample(self, y: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Start of the reverse process: ``y + std(1) * noise``."""
        std1 = self.std(torch.ones(1, dtype=torch.float64)).item()
        return y + std1 * noise
