"""EnCodec's residual vector quantizer (inference only).

State-dict layout of the published checkpoints: ``vq.layers.<i>._codebook.{inited, cluster_size, embed,
embed_avg}``, all buffers (the codebooks are trained by EMA, so they are not parameters). Only ``embed``
``[bins, D]`` is used to code; the others are carried so that the files load strictly.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class Codebook(nn.Module):
    """One codebook: nearest ``embed`` row by Euclidean distance."""

    def __init__(self, dim: int, bins: int) -> None:
        super().__init__()
        self.register_buffer("inited", torch.ones(1))
        self.register_buffer("cluster_size", torch.zeros(bins))
        self.register_buffer("embed", torch.zeros(bins, dim))
        self.register_buffer("embed_avg", torch.zeros(bins, dim))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, D]`` -> indices ``[N]``."""
        embed = self.embed.t()
        score = -(x.pow(2).sum(1, keepdim=True) - 2 * x @ embed + embed.pow(2).sum(0, keepdim=True))
        return score.max(dim=-1).indices

    def decode(self, indices: torch.Tensor) -> torch.Tensor:
        """Indices ``[...]`` -> vectors ``[..., D]``."""
        return nn.functional.embedding(indices, self.embed)


class _Layer(nn.Module):
    """One residual stage (the checkpoint nests the codebook as ``_codebook``)."""

    def __init__(self, dim: int, bins: int) -> None:
        super().__init__()
        self._codebook = Codebook(dim, bins)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, D, F]`` -> ``[B, F]``."""
        b, d, f = x.shape
        return self._codebook.encode(x.transpose(1, 2).reshape(b * f, d)).view(b, f)

    def decode(self, indices: torch.Tensor) -> torch.Tensor:
        """``[B, F]`` -> ``[B, D, F]``."""
        return self._codebook.decode(indices).transpose(1, 2)


class _Stages(nn.Module):
    def __init__(self, dim: int, bins: int, n_q: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([_Layer(dim, bins) for _ in range(n_q)])


class ResidualVectorQuantizer(nn.Module):
    """``n_q`` codebooks of ``bins`` entries; the first ``k`` of them code at ``k * log2(bins) * frame_rate`` bit/s.

    Args:
        dimension: embedding size D.
        n_q: number of codebooks in the checkpoint.
        bins: entries per codebook (a power of two).
    """

    def __init__(self, dimension: int = 128, n_q: int = 32, bins: int = 1024) -> None:
        super().__init__()
        if bins & (bins - 1):
            raise ValueError(f"codebook size {bins} is not a power of two")
        self.dimension, self.n_q, self.bins = dimension, n_q, bins
        self.bits_per_codebook = int(math.log2(bins))
        self.vq = _Stages(dimension, bins, n_q)

    def encode(self, x: torch.Tensor, n_q: int) -> torch.Tensor:
        """Embedding ``[B, D, F]`` -> codes ``[B, n_q, F]`` (each stage codes the previous stages' residual)."""
        if not 1 <= n_q <= self.n_q:
            raise ValueError(f"{n_q} codebooks requested; the model has 1..{self.n_q}")
        residual = x
        codes = []
        for layer in self.vq.layers[:n_q]:
            idx = layer.encode(residual)
            residual = residual - layer.decode(idx)
            codes.append(idx)
        return torch.stack(codes, dim=1)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, K, F]`` -> embedding ``[B, D, F]`` (sum of the K stages)."""
        out = self.vq.layers[0].decode(codes[:, 0])
        for k in range(1, codes.shape[1]):
            out = out + self.vq.layers[k].decode(codes[:, k])
        return out
