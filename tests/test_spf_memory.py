"""The post-filter's CPU memory is bounded for any input length, at any preset: chunks are cut so that the
finest self-attention layer sees at most MAX_ATTENTION_POSITIONS positions, and attention takes its queries
in blocks."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from systems.spf import layers
from systems.spf.config import preset
from systems.spf.inference import MAX_ATTENTION_POSITIONS, chunk_samples

PEAK = """
import resource, sys
import numpy as np, torch
torch.set_num_threads(1)
from systems.spf.config import preset
from systems.spf.inference import enhance
from systems.spf.model import ScoreModel
from systems.spf.sampling import SamplerSettings
torch.manual_seed(0)
cfg = preset("tiny")
model = ScoreModel(cfg).eval()
x = (0.1 * np.random.default_rng(0).standard_normal(int(float(sys.argv[1]) * 48000))).astype(np.float32)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
(y, info), = enhance(model, [x], [0], SamplerSettings("pc", 1, 0.5, cfg.sde.name), device="cpu", batch_size=1)
assert y.shape == x.shape and np.all(np.isfinite(y))
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024, info["chunks"])
"""


def test_tiny_preset_post_filters_a_long_input_in_bounded_memory():
    """8 s at the tiny preset (a 32-sample hop: 12,000 frames): the enhancement itself adds well under 400 MB
    (one 4 s chunk took several GB of attention scores before chunks were cut by attention positions)."""
    r = subprocess.run([sys.executable, "-c", PEAK, "8"], capture_output=True, text=True, timeout=600, check=False)
    assert r.returncode == 0, r.stderr
    added_mb, chunks = r.stdout.split()
    assert float(added_mb) < 400, r.stdout
    assert int(chunks) > 2


def test_chunks_follow_the_attention_positions_and_keep_the_shipped_presets():
    for name in ("full", "demo"):
        cfg = preset(name)
        assert chunk_samples(cfg) == round(cfg.sampler.chunk_seconds * cfg.sample_rate)  # 4 s, as before
    cfg = preset("tiny")
    frames = chunk_samples(cfg) // cfg.stft.hop + 1
    assert frames // 4 * ((cfg.stft.n_fft // 2 + 1) // 4) <= MAX_ATTENTION_POSITIONS < chunk_samples(preset("full"))


def test_attention_in_query_blocks_equals_attention_at_once(monkeypatch: pytest.MonkeyPatch):
    torch.manual_seed(0)
    block = layers.AttnBlock(16, skip_rescale=True)
    torch.nn.init.normal_(block.out.weight)  # zero-initialised: make the attention visible in the output
    x = torch.randn(2, 16, 24, 40)
    whole = block(x)
    monkeypatch.setattr(layers, "ATTENTION_SCORES", 24 * 40 * 7)  # 7 queries per block, 138 blocks
    blocked = block(x)
    assert torch.allclose(whole, blocked, atol=1e-6) and not torch.equal(whole, x)
