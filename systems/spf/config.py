"""Every setting of the score-based post-filter (SPF), as typed dataclasses with strict parsing.

Defaults follow SGMSE+ (Richter et al., 2023) and ScoreDec as re-trained by FlowDec (Welker et al., 2025).
Named presets: ``full`` (the ~65M-parameter NCSN++ of the paper), ``demo`` (the tiny CPU model whose
weights ship in ``systems/spf/weights``) and ``tiny`` (for tests).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class STFTConfig:
    """Compressed complex STFT: ``beta * |c|^alpha * exp(i angle(c))``.

    Attributes:
        n_fft: FFT size (1534 -> 768 bins).
        hop: hop size in samples.
        window: "hann" (periodic) or "sqrthann".
        alpha: magnitude exponent.
        beta: scale factor.
        frame_multiple: frames are zero-padded to a multiple of this for the U-Net, cropped after.
    """

    n_fft: int = 1534
    hop: int = 384
    window: str = "hann"
    alpha: float = 0.5
    beta: float = 0.15
    frame_multiple: int = 64


@dataclass
class SDEConfig:
    """The diffusion process: the paper's OUVE SDE or SGMSE+'s Schroedinger bridge (SBVE).

    Attributes:
        name: "ouve" (``dx = theta (y - x) dt + sigma(t) dw``, a score model) or "sbve" (variance-exploding
            Schroedinger bridge between clean x0 and coded y, ``g(t) = sqrt(c) k^t``, a data-prediction model).
        theta: OUVE stiffness pulling the mean towards y.
        sigma_min: OUVE noise scale at t = 0.
        sigma_max: OUVE noise scale at t = 1.
        k: SBVE diffusion growth (SGMSE+ default 2.6).
        c: SBVE diffusion scale (SGMSE+ default 0.4).
        t_eps: smallest time used in training (and, for OUVE, in sampling).
    """

    name: str = "ouve"
    theta: float = 1.5
    sigma_min: float = 0.05
    sigma_max: float = 0.5
    k: float = 2.6
    c: float = 0.4
    t_eps: float = 0.03


@dataclass
class BackboneConfig:
    """NCSN++ settings (BigGAN residual blocks, Fourier time embedding, skip rescaling).

    Attributes:
        nf: base channel count.
        ch_mult: channel multiplier per resolution level (one level per entry).
        num_res_blocks: residual blocks per level on the way down (up: one more).
        attn_levels: levels (0 = full resolution) with self-attention after each block; the
            bottleneck always has one attention block.
        fourier_scale: std of the fixed Gaussian Fourier projection.
        fir_kernel: 1-D FIR kernel for up/down sampling.
        dropout: dropout inside residual blocks.
        skip_rescale: divide residual sums by sqrt(2).
        output_scaling: OUVE (score models): "std" (score = -net / std(t)), "t" (score = -net / t,
            SGMSE+ ncsnpp) or "std_skip" (score = -(x - y) / std(t)^2 - net / std(t): the network only
            learns the correction to the score of "clean = coded"). SBVE (data prediction): "data"
            (x0_hat = net, SGMSE+) or "data_skip" (x0_hat = y + net: the network learns a correction to y).
            Neither skip makes an untrained model the identity: the last 1x1 conv starts with PyTorch's
            default bias, a constant of ~0.1-0.5 (compressed-STFT units) in every bin that training must
            cancel (a -70 dBFS floor is ~0.01 there).
    """

    nf: int = 128
    ch_mult: list[int] = field(default_factory=lambda: [1, 1, 2, 2, 2, 2, 2])
    num_res_blocks: int = 2
    attn_levels: list[int] = field(default_factory=list)
    fourier_scale: float = 16.0
    fir_kernel: list[int] = field(default_factory=lambda: [1, 3, 3, 1])
    dropout: float = 0.0
    skip_rescale: bool = True
    output_scaling: str = "std"


@dataclass
class SamplerConfig:
    """Reverse-process settings used where the spf options (sampler, steps, snr) are none.

    Attributes:
        name: OUVE: "pc" (reverse diffusion + annealed Langevin) or "ode" (probability flow, Euler);
            SBVE: "ode" or "sde" (the bridge's first-order ODE / SDE updates).
        steps: reverse steps N (OUVE PC: 2N network evaluations, every other sampler: N).
        snr: corrector signal-to-noise ratio.
        chunk_seconds: long inputs are processed in chunks of this length ...
        overlap_seconds: ... overlapping by this much, crossfaded with a Hann ramp.
    """

    name: str = "pc"
    steps: int = 30
    snr: float = 0.5
    chunk_seconds: float = 4.0
    overlap_seconds: float = 0.25


@dataclass
class TrainConfig:
    """Denoising score matching settings.

    Attributes:
        lr: Adam learning rate.
        ema_decay: EMA decay of the weights used at inference.
        batch_size: crops per step.
        crop_frames: STFT frames per random crop.
        steps: total optimiser steps.
        log_every: steps between progress lines / loss records.
        save_every: steps between checkpoints.
        seed: random seed for crops, noise and initialisation.
        threads: torch CPU threads (0: leave torch's default).
        l1_weight: SBVE data-prediction loss only: weight of the time-domain L1 term (SGMSE+ 0.001).
    """

    lr: float = 1e-4
    ema_decay: float = 0.999
    batch_size: int = 4
    crop_frames: int = 256
    steps: int = 100000
    log_every: int = 50
    save_every: int = 500
    seed: int = 0
    threads: int = 0
    l1_weight: float = 0.001


@dataclass
class SPFConfig:
    """The whole post-filter: transform, SDE, backbone, sampler, training."""

    stft: STFTConfig = field(default_factory=STFTConfig)
    sde: SDEConfig = field(default_factory=SDEConfig)
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    sample_rate: int = 48000

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (stored inside checkpoints)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> SPFConfig:
        """Build from a nested dict; missing keys take defaults, unknown keys raise ValueError."""
        return _parse(cls, data, source)

    def updated(self, data: dict[str, Any], *, source: str = "config") -> SPFConfig:
        """A copy with the given nested keys replaced (unknown keys raise)."""
        merged = _deep_merge(self.to_dict(), data, source)
        return SPFConfig.from_dict(merged, source=source)


def _parse(cls: type, data: dict[str, Any], where: str) -> Any:
    if not isinstance(data, dict):
        raise TypeError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known: {sorted(fields)}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        sub = _SECTIONS.get(name) if cls is SPFConfig else None
        kwargs[name] = _parse(sub, value, f"{where}.{name}") if sub else value
    return cls(**kwargs)


def _deep_merge(base: dict[str, Any], new: dict[str, Any], where: str) -> dict[str, Any]:
    out = dict(base)
    for k, v in new.items():
        if k not in out:
            raise ValueError(f"{where}: unknown key {k!r}; known: {sorted(out)}")
        out[k] = _deep_merge(out[k], v, f"{where}.{k}") if isinstance(v, dict) else v
    return out


_SECTIONS: dict[str, type] = {
    "stft": STFTConfig,
    "sde": SDEConfig,
    "backbone": BackboneConfig,
    "sampler": SamplerConfig,
    "train": TrainConfig,
}

#: Named presets (overrides of the defaults). The shipped demo weights were trained with ``demo`` and
#: ``--sde sbve`` (scripts/export_spf_demo.py then records their recommended sampler).
PRESETS: dict[str, dict[str, Any]] = {
    "full": {},
    "demo": {
        "backbone": {"nf": 8, "ch_mult": [1, 2, 2, 2, 2, 2, 2], "num_res_blocks": 1,
                     "output_scaling": "std_skip"},
        # OUVE at CPU cost: PC with N = 30 costs 60 evaluations, too slow for the CPU demo; N = 2 costs 4
        "sampler": {"name": "pc", "steps": 2},
        # a few thousand CPU steps only: a larger learning rate and a shorter EMA than the full recipe
        "train": {"lr": 5e-4, "ema_decay": 0.998, "batch_size": 4, "crop_frames": 64, "log_every": 20,
                  "save_every": 100, "threads": 1},
    },
    "tiny": {
        "backbone": {"nf": 8, "ch_mult": [1, 1, 2], "num_res_blocks": 1},
        "stft": {"n_fft": 126, "hop": 32, "frame_multiple": 4},
        # a smoke test's sampler: 4 network evaluations per chunk
        "sampler": {"name": "pc", "steps": 2},
        "train": {"lr": 1e-3, "batch_size": 2, "crop_frames": 32, "log_every": 10, "save_every": 1000},
    },
}


def preset(name: str) -> SPFConfig:
    """A named preset (``full``, ``demo``, ``tiny``)."""
    if name not in PRESETS:
        raise ValueError(f"unknown SPF preset {name!r}; known: {sorted(PRESETS)}")
    return SPFConfig().updated(PRESETS[name], source=f"preset {name}")


#: output_scaling of a score model -> the matching data-prediction one (and back), see BackboneConfig
_DATA_SCALING = {"std": "data", "t": "data", "std_skip": "data_skip"}
_SCORE_SCALING = {"data": "std", "data_skip": "std_skip"}

#: what switching to an SDE changes besides ``sde.name``: the recommended sampler of its weights
SDE_SAMPLER_DEFAULTS: dict[str, dict[str, Any]] = {
    "ouve": {"name": "pc", "steps": 30},
    # the bridge starts at y itself and reaches its quality in a handful of steps (SGMSE+ uses N = 50)
    "sbve": {"name": "ode", "steps": 4},
}


def with_sde(cfg: SPFConfig, name: str) -> SPFConfig:
    """``cfg`` switched to SDE ``name``: its output scaling becomes the matching score/data variant and its
    sampler the SDE's default (unchanged when ``cfg`` already uses ``name``)."""
    if name not in SDE_SAMPLER_DEFAULTS:
        raise ValueError(f"unknown SPF sde {name!r}; known: {sorted(SDE_SAMPLER_DEFAULTS)}")
    if cfg.sde.name == name:
        return cfg
    table = _DATA_SCALING if name == "sbve" else _SCORE_SCALING
    scaling = table.get(cfg.backbone.output_scaling, cfg.backbone.output_scaling)
    return cfg.updated({"sde": {"name": name}, "backbone": {"output_scaling": scaling},
                        "sampler": SDE_SAMPLER_DEFAULTS[name]})


def load_config(path: Path) -> SPFConfig:
    """Read a JSON or YAML config file. A top-level ``preset`` key starts from that preset."""
    text = Path(path).read_text()
    if path.suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text) or {}
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise TypeError(f"{path}: expected a mapping at the top level")
    base = preset(data.pop("preset", "full"))
    return base.updated(data, source=str(path))
