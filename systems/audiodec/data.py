"""Training audio: a folder of wav/flac files or any corpus spec of ``bench.corpora``, held in memory.

Batches are random crops (seeded), so training is deterministic for a given seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from bench.audio import read_mono

AUDIO_SUFFIXES = {".wav", ".flac"}


def _corpus_paths(spec: str) -> list[Path]:
    folder = Path(spec)
    if folder.is_dir():
        paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
        if not paths:
            raise FileNotFoundError(f"--data {spec}: no .wav or .flac files in this folder")
        return paths
    try:
        from bench.corpora import open_corpus  # the suite's corpus API, when present
    except ImportError as exc:
        raise FileNotFoundError(f"--data {spec}: not a folder of wav/flac files") from exc
    return [Path(u.path) for u in open_corpus(spec).utterances()]


class CropSampler:
    """Random fixed-length crops from a list of waveforms.

    Args:
        spec: folder of wav/flac or a corpus spec.
        sample_rate: target rate in Hz.
        seed: RNG seed.
    """

    def __init__(self, spec: str, sample_rate: int, seed: int) -> None:
        self.paths = _corpus_paths(spec)
        self.audio = [read_mono(p, sample_rate) for p in self.paths]
        self.rng = np.random.default_rng(seed)

    def batch(self, batch_size: int, length: int) -> torch.Tensor:
        """``[B, 1, length]`` crops (zero-padded when an utterance is shorter)."""
        out = np.zeros((batch_size, 1, length), dtype=np.float32)
        for b in range(batch_size):
            x = self.audio[int(self.rng.integers(len(self.audio)))]
            if len(x) > length:
                start = int(self.rng.integers(len(x) - length))
                out[b, 0] = x[start : start + length]
            else:
                out[b, 0, : len(x)] = x
        return torch.from_numpy(out)

    def reseed(self, seed: int, step: int) -> None:
        """Continue a resumed run with a stream that depends only on (seed, step)."""
        self.rng = np.random.default_rng([seed, step])
