"""Waveform-level enhancement: peak normalisation, overlapping chunks with crossfade, device batching.

Memory does not grow with the input length: an utterance is cut into chunks of ``chunk_seconds``
overlapping by ``overlap_seconds``; chunks of equal length are batched (``batch_size`` at a time),
each with its own seeded noise generator, and overlap-added with complementary sin^2/cos^2 ramps.
A chunk is shorter than ``chunk_seconds`` where the network's finest self-attention layer would otherwise
see more than :data:`MAX_ATTENTION_POSITIONS` positions (a fine STFT, e.g. the ``tiny`` preset's 32-sample
hop: attention costs time and memory quadratic in them); the shipped presets ``full`` and ``demo`` see
about 94 in 4 s and are not cut further.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from systems.spf.model import ScoreModel
from systems.spf.sampling import SamplerSettings, chunk_generator, generator_noise, run_sampler

#: positions (time x frequency) the finest self-attention layer may see in one chunk
MAX_ATTENTION_POSITIONS = 4096


@dataclass
class Chunk:
    """One piece of one utterance: ``[start, start + length)`` in samples, zero-padded to ``padded``."""

    utt: int
    index: int
    start: int
    length: int
    padded: int


def padded_length(length: int, hop: int, frame_multiple: int) -> int:
    """Smallest ``(k * frame_multiple - 1) * hop >= length``: its centered STFT has ``k * frame_multiple`` frames."""
    needed = -(-max(length, 1) // hop) + 1
    frames = -(-needed // frame_multiple) * frame_multiple
    return (frames - 1) * hop


def plan_chunks(n_samples: int, chunk: int, overlap: int, hop: int, frame_multiple: int) -> list[tuple[int, int, int]]:
    """``[(start, length, padded_length)]`` covering ``n_samples`` (see :func:`padded_length`).

    Every chunk but a lone short one has the full length; the last one is shifted back to end at
    ``n_samples`` (so it may overlap its neighbour by more than ``overlap``).
    """
    if overlap >= chunk:
        raise ValueError(f"SPF: overlap ({overlap}) must be shorter than the chunk ({chunk})")
    if n_samples <= chunk:
        return [(0, n_samples, padded_length(n_samples, hop, frame_multiple))]
    padded = padded_length(chunk, hop, frame_multiple)
    starts = list(range(0, n_samples - chunk, chunk - overlap)) + [n_samples - chunk]
    return [(s, chunk, padded) for s in starts]


def chunk_samples(cfg) -> int:
    """Chunk length in samples: ``chunk_seconds``, or less where the finest attention layer (an
    ``attn_levels`` entry, or the bottleneck) would see more than :data:`MAX_ATTENTION_POSITIONS` positions."""
    level = min([*cfg.backbone.attn_levels, len(cfg.backbone.ch_mult) - 1])
    scale = 2**level
    bins = -(-(cfg.stft.n_fft // 2 + 1) // scale)
    frames = max(cfg.stft.frame_multiple, MAX_ATTENTION_POSITIONS // bins * scale)
    return max(1, min(round(cfg.sampler.chunk_seconds * cfg.sample_rate), (frames - 1) * cfg.stft.hop))


def crossfade_weights(length: int, fade_in: int, fade_out: int) -> np.ndarray:
    """``[length]`` ones with sin^2 fade-in and cos^2 fade-out ramps (complementary across chunks)."""
    w = np.ones(length, dtype=np.float64)
    if fade_in:
        w[:fade_in] = np.sin(0.5 * np.pi * (np.arange(fade_in) + 0.5) / fade_in) ** 2
    if fade_out:
        w[length - fade_out :] *= np.cos(0.5 * np.pi * (np.arange(fade_out) + 0.5) / fade_out) ** 2
    return w


def enhance(
    model: ScoreModel,
    coded: list[np.ndarray],
    seeds: list[int],
    settings: SamplerSettings,
    *,
    device: str,
    batch_size: int,
) -> list[tuple[np.ndarray, dict]]:
    """Post-filter several coded utterances.

    Args:
        model: the score model (eval mode, on ``device``).
        coded: ``[T_i]`` float waveforms at the model's sample rate.
        seeds: per-utterance seeds.
        settings: sampler name, steps, snr.
        device: torch device for the network.
        batch_size: chunks per network call.
    Returns:
        ``[(enhanced [T_i] float32, info)]`` with info keys nfe, seed, sampler, steps, snr, chunks, rtf.
    """
    cfg = model.cfg
    sr = cfg.sample_rate
    chunk = chunk_samples(cfg)
    overlap = min(round(cfg.sampler.overlap_seconds * sr), chunk // 4)
    peaks = [float(np.max(np.abs(c))) if c.size else 0.0 for c in coded]
    chunks: list[Chunk] = []
    for u, c in enumerate(coded):
        if peaks[u] > 0:
            for i, (s, n, p) in enumerate(plan_chunks(len(c), chunk, overlap, cfg.stft.hop, cfg.stft.frame_multiple)):
                chunks.append(Chunk(u, i, s, n, p))
    outs = [np.zeros(len(c), dtype=np.float64) for c in coded]
    norms = [np.zeros(len(c), dtype=np.float64) for c in coded]
    nfe_per_utt = [0] * len(coded)
    n_chunks = [0] * len(coded)
    t0 = time.perf_counter()
    groups: dict[int, list[Chunk]] = {}
    for ch in chunks:
        groups.setdefault(ch.padded, []).append(ch)
    for padded, members in groups.items():
        for b0 in range(0, len(members), batch_size):
            batch = members[b0 : b0 + batch_size]
            wav = np.zeros((len(batch), padded), dtype=np.float32)
            for j, ch in enumerate(batch):
                wav[j, : ch.length] = coded[ch.utt][ch.start : ch.start + ch.length] / peaks[ch.utt]
            y = model.stft.forward(torch.from_numpy(wav).to(device))
            y, n_frames = model.stft.pad_frames(y)
            noise = generator_noise([chunk_generator(seeds[ch.utt], ch.index) for ch in batch])
            x, nfe = run_sampler(settings, model, model.sde, y, noise)
            est = model.stft.inverse(x[..., :n_frames], padded).cpu().numpy().astype(np.float64)
            for j, ch in enumerate(batch):
                n_total = len(coded[ch.utt])
                fade_in = overlap if ch.start > 0 else 0
                fade_out = overlap if ch.start + ch.length < n_total else 0
                w = crossfade_weights(ch.length, fade_in, fade_out)
                sl = slice(ch.start, ch.start + ch.length)
                outs[ch.utt][sl] += w * est[j, : ch.length] * peaks[ch.utt]
                norms[ch.utt][sl] += w
                nfe_per_utt[ch.utt] = nfe
                n_chunks[ch.utt] += 1
    elapsed = time.perf_counter() - t0
    total_seconds = sum(len(c) for c in coded) / sr
    results = []
    for u, c in enumerate(coded):
        y_out = np.where(norms[u] > 0, outs[u] / np.maximum(norms[u], 1e-12), 0.0).astype(np.float32)
        info = {
            "nfe": nfe_per_utt[u] if peaks[u] > 0 else 0,
            "seed": int(seeds[u]),
            "sampler": settings.name,
            "steps": settings.steps,
            "snr": settings.snr if settings.name == "pc" else None,
            "chunks": n_chunks[u],
            "rtf": elapsed / total_seconds if total_seconds else None,
        }
        results.append((y_out, info))
    return results
