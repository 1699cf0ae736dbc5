"""Shared helpers of the AudioDec tests: small configs, synthetic speech-like audio, checkpoints in tmp."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from systems.audiodec.config import ModelConfig, packaged_config, parse_config

KEYS_FILE = Path(__file__).parent / "data" / "audiodec_state_dict_keys.txt"


def official_shapes() -> dict[str, dict[str, tuple[int, ...]]]:
    """Section name -> {parameter name: shape} from the reference list of official names."""
    out: dict[str, dict[str, tuple[int, ...]]] = {}
    current = None
    for line in KEYS_FILE.read_text().splitlines():
        if line.startswith("== "):
            current = line.split()[1]
            current = "v1" if current == "vocoder" else current
            out[current] = {}
            continue
        m = re.match(r"^(\S+) \(([\d, ]*)\)$", line.strip())
        if m and current:
            out[current][m.group(1)] = tuple(int(d) for d in m.group(2).split(",") if d.strip())
    return out


def header_counts() -> dict[str, tuple[int, int]]:
    """Section -> (parameter count, state-dict key count) from the ``== name params N ... n_keys K`` lines."""
    out = {}
    for line in KEYS_FILE.read_text().splitlines():
        if line.startswith("== "):
            words = line.split()
            name = "v1" if words[1] == "vocoder" else words[1]
            out[name] = (int(words[words.index("params") + 1]), int(words[words.index("n_keys") + 1]))
    return out


def hop300_shapes() -> dict[str, tuple[int, ...]]:
    """The hop-300 generator's names and shapes, derived from the listed c16 ones.

    Same names, 8 codebooks instead of 16, and strided (transposed) convs with kernel 2 * stride for
    encoder strides (3, 4, 5, 5) and decoder strides (5, 5, 4, 3).
    """
    enc, dec = (3, 4, 5, 5), (5, 5, 4, 3)
    out = {}
    for name, shape in official_shapes()["symAD_c16_vctk_48000_hop320"].items():
        m = re.match(r"quantizer\.codebook\.layers\.(\d+)\.", name)
        if m and int(m.group(1)) >= 8:
            continue
        m = re.match(r"encoder\.conv_blocks\.(\d)\.conv\.(pad_buffer|conv\.weight)$", name)
        if m:
            s = enc[int(m.group(1))]
            shape = (*shape[:2], 2 * s - 1) if m.group(2) == "pad_buffer" else (*shape[:2], 2 * s)
        m = re.match(r"decoder\.conv_blocks\.(\d)\.conv\.deconv\.weight$", name)
        if m:
            shape = (*shape[:2], 2 * dec[int(m.group(1))])
        out[name] = shape
    return out


def tiny_raw(name: str = "symAD_c16_tiny", **generator: Any) -> dict[str, Any]:
    """A packaged config as a mapping, with generator_params overrides."""
    raw = yaml.safe_load(packaged_config(name).read_text())
    raw = copy.deepcopy(raw)
    raw["generator_params"].update(generator)
    return raw


def tiny_config(name: str = "symAD_c16_tiny", **generator: Any) -> ModelConfig:
    return parse_config(tiny_raw(name, **generator), name)


def speechlike(seconds: float, sr: int = 48000, seed: int = 0) -> np.ndarray:
    """A voiced, syllable-modulated harmonic signal with some noise: ``[T]`` float32 in [-0.5, 0.5]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 120 + 30 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 25))
    env = np.clip(np.sin(2 * np.pi * 3.0 * t + rng.uniform(0, 6)), 0, None) ** 2
    x = env * x + 0.02 * rng.standard_normal(len(t))
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def write_speech_folder(folder: Path, n: int = 4, seconds: float = 1.0) -> Path:
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        sf.write(folder / f"s{i}.wav", speechlike(seconds, seed=i), 48000, subtype="PCM_16")
    return folder
