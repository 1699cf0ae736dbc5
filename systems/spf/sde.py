"""The SPF's diffusion processes: the paper's OUVE SDE and SGMSE+'s variance-exploding Schroedinger bridge.

OUVE: Ornstein-Uhlenbeck drift towards the coded signal y, variance-exploding noise.

``dx = theta (y - x) dt + g(t) dw`` with ``g(t) = sigma_min r^t sqrt(2 ln r)``, ``r = sigma_max / sigma_min``.

Marginal of x(t) given x(0) = x0:
    mean(t) = y + (x0 - y) e^{-theta t}
    var(t)  = int_0^t e^{-2 theta (t - s)} g(s)^2 ds
            = 2 ln r sigma_min^2 e^{-2 theta t} int_0^t e^{2 (theta + ln r) s} ds
            = sigma_min^2 ln r / (theta + ln r) * (r^{2t} - e^{-2 theta t}).

SBVE (Jukic et al. 2024, as in SGMSE+): no drift, ``g(t) = sqrt(c) k^t``, pinned to the clean x0 at t = 0
and to the coded y at t = 1. With ``s(t)^2 = int_0^t g^2 = c (k^{2t} - 1) / (2 ln k)`` and
``sbar(t)^2 = s(1)^2 - s(t)^2``, the bridge's marginal is Gaussian with
    mean(t) = (sbar(t)^2 x0 + s(t)^2 y) / s(1)^2,    std(t) = s(t) sbar(t) / s(1)
(a Brownian bridge in the time change s^2), so x(1) = y exactly and sampling starts at y.
"""

from __future__ import annotations

import math

import torch

from systems.spf.config import SDEConfig


class OUVESDE:
    """Drift, diffusion and closed-form marginals of the OUVE SDE (its network predicts the score).

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
        self.predicts = "score"
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


class SBVESDE:
    """Closed-form marginals of the variance-exploding Schroedinger bridge (its network predicts x0).

    Args:
        cfg: k, c, t_eps.
    """

    def __init__(self, cfg: SDEConfig) -> None:
        if cfg.k <= 0 or cfg.k == 1:
            raise ValueError(f"SBVE: k must be > 0 and != 1, got {cfg.k}")
        if cfg.c <= 0:
            raise ValueError(f"SBVE: c must be > 0, got {cfg.c}")
        if not (0 <= cfg.t_eps < 1):
            raise ValueError(f"SBVE: t_eps must be in [0, 1), got {cfg.t_eps}")
        self.cfg = cfg
        self.predicts = "data"
        self.k = cfg.k
        self.c = cfg.c

    def diffusion(self, t: torch.Tensor) -> torch.Tensor:
        """``g(t) = sqrt(c) k^t`` for ``t [B]`` -> ``[B]``."""
        return math.sqrt(self.c) * self.k**t

    def sigma2(self, t: torch.Tensor) -> torch.Tensor:
        """``s(t)^2 = c (k^{2t} - 1) / (2 ln k)``, the noise variance accumulated since t = 0, ``[B]``."""
        return self.c * (self.k ** (2.0 * t) - 1.0) / (2.0 * math.log(self.k))

    def weights(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(w_x, w_y)`` with ``mean = w_x x0 + w_y y``; each ``[B]``."""
        s2 = self.sigma2(t)
        s2_1 = self.sigma2(torch.ones_like(t))
        return (s2_1 - s2) / s2_1, s2 / s2_1

    def mean(self, x0: torch.Tensor, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Marginal mean for ``x0, y [B, ...]`` and ``t [B]``."""
        wx, wy = (w.view(-1, *([1] * (x0.dim() - 1))) for w in self.weights(t))
        return wx * x0 + wy * y

    def std(self, t: torch.Tensor) -> torch.Tensor:
        """Marginal standard deviation ``s(t) sbar(t) / s(1)``, ``[B]`` (0 at t = 0 and t = 1)."""
        s2 = self.sigma2(t)
        s2_1 = self.sigma2(torch.ones_like(t))
        return (s2 * (s2_1 - s2).clamp_min(0.0) / s2_1).sqrt()

    def prior_sample(self, y: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """The bridge starts at the coded signal itself (no noise): ``y``."""
        return y


#: ``sde.name`` -> class
SDES: dict[str, type] = {"ouve": OUVESDE, "sbve": SBVESDE}


def build_sde(cfg: SDEConfig) -> OUVESDE | SBVESDE:
    """The SDE named by ``cfg.name``."""
    if cfg.name not in SDES:
        raise ValueError(f"unknown SPF sde {cfg.name!r}; known: {sorted(SDES)}")
    return SDES[cfg.name](cfg)
