"""Residual vector quantizer with exponential-moving-average (EMA) codebooks.

Buffer names follow the official checkpoints: ``quantizer.codebook.layers.{i}.embed`` ``[D, K]``,
``cluster_size`` ``[K]`` and ``embed_avg`` ``[D, K]``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class EMAVectorQuantizer(nn.Module):
    """One codebook of K vectors of dimension D, updated by EMA (no gradient) while training.

    Args:
        dim: code dimension D.
        codebook_size: number of codes K.
        decay: EMA decay (0.8 in AudioDec).
        eps: Laplace smoothing of the cluster sizes.
    """

    def __init__(self, dim: int, codebook_size: int, decay: float = 0.8, eps: float = 1e-5) -> None:
        super().__init__()
        self.dim = dim
        self.codebook_size = codebook_size
        self.decay = decay
        self.eps = eps
        embed = torch.randn(dim, codebook_size)
        self.register_buffer("embed", embed)
        self.register_buffer("cluster_size", torch.zeros(codebook_size))
        self.register_buffer("embed_avg", embed.clone())

    def indices(self, x: torch.Tensor) -> torch.Tensor:
        """Nearest code for each vector: ``[..., D]`` -> ``[...]`` (int64)."""
        flat = x.reshape(-1, self.dim)
        dist = (
            flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.embed + self.embed.pow(2).sum(0, keepdim=True)
        )
        return dist.argmin(dim=1).view(x.shape[:-1])

    def lookup(self, idx: torch.Tensor) -> torch.Tensor:
        """``[...]`` indices -> ``[..., D]`` code vectors."""
        return F.embedding(idx, self.embed.t())

    def _ema_update(self, flat: torch.Tensor, idx: torch.Tensor) -> None:
        onehot = F.one_hot(idx.reshape(-1), self.codebook_size).to(flat.dtype)
        self.cluster_size.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
        self.embed_avg.mul_(self.decay).add_(flat.t() @ onehot, alpha=1 - self.decay)
        n = self.cluster_size.sum()
        smoothed = (self.cluster_size + self.eps) / (n + self.codebook_size * self.eps) * n
        self.embed.copy_(self.embed_avg / smoothed.unsqueeze(0))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Quantize ``[B, T, D]``.

        Returns:
            (straight-through quantized ``[B, T, D]``, commitment loss (scalar), indices ``[B, T]``).
        """
        idx = self.indices(x.detach())
        q = self.lookup(idx)
        if self.training:
            with torch.no_grad():
                self._ema_update(x.detach().reshape(-1, self.dim), idx)
        loss = F.mse_loss(q.detach(), x)
        return x + (q - x).detach(), loss, idx


class ResidualVQ(nn.Module):
    """Codebooks applied in turn to the remaining residual.

    Args:
        dim: code dimension D.
        num_quantizers: number of codebooks N.
        codebook_size: codes per codebook K.
        decay: EMA decay.
    """

    def __init__(self, dim: int, num_quantizers: int, codebook_size: int, decay: float = 0.8) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [EMAVectorQuantizer(dim, codebook_size, decay=decay) for _ in range(num_quantizers)]
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``[B, T, D]`` -> (quantized ``[B, T, D]``, per-codebook losses ``[N]``, indices ``[N, B, T]``)."""
        out = torch.zeros_like(x)
        residual = x
        losses, codes = [], []
        for layer in self.layers:
            q, loss, idx = layer(residual)
            # Only the first codebook's gradient reaches the encoder (as in AudioDec).
            residual = residual - q
            out = out + q
            losses.append(loss)
            codes.append(idx)
        return out, torch.stack(losses), torch.stack(codes)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """``[N, B, T]`` indices -> ``[B, T, D]`` summed code vectors."""
        return sum(layer.lookup(c) for layer, c in zip(self.layers, codes))  # type: ignore[return-value]


class Quantizer(nn.Module):
    """Channel-first wrapper: ``[B, D, T]`` in and out, codebooks under ``codebook``.

    Args:
        code_dim: D.
        codebook_num: N codebooks.
        codebook_size: K codes each (log2 K bits per codebook and frame).
    """

    def __init__(self, code_dim: int, codebook_num: int, codebook_size: int) -> None:
        super().__init__()
        self.codebook_num = codebook_num
        self.codebook_size = codebook_size
        self.codebook = ResidualVQ(code_dim, codebook_num, codebook_size)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``[B, D, T]`` -> (zq ``[B, D, T]``, losses ``[N]``, codes ``[N, B, T]``)."""
        zq, losses, codes = self.codebook(z.transpose(1, 2))
        return zq.transpose(1, 2), losses, codes

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """``[N, B, T]`` codes -> zq ``[B, D, T]``."""
        return self.codebook.decode(codes).transpose(1, 2)
