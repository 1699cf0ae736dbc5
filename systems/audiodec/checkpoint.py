"""Checkpoints in the official AudioDec layout, model construction from ``config.yml``, and a cache.

Layout: ``{'model': {'generator': sd, 'discriminator': sd?}, 'optimizer': ..., 'scheduler': ...,
'steps': int, 'epochs': int}`` with ``config.yml`` in the same folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from systems.audiodec.config import ModelConfig, config_for_checkpoint, save_config
from systems.audiodec.generator import Generator, GeneratorParams
from systems.audiodec.vocoder import Vocoder, VocoderParams

_CACHE: dict[tuple[str, str], tuple[nn.Module, ModelConfig]] = {}


def build_model(cfg: ModelConfig) -> Generator | Vocoder:
    """An untrained generator or vocoder for ``cfg``."""
    if isinstance(cfg.generator, GeneratorParams):
        return Generator(cfg.generator)
    assert isinstance(cfg.generator, VocoderParams)
    return Vocoder(cfg.generator)


def read_checkpoint(path: Path) -> dict[str, Any]:
    """``torch.load`` (weights only) with errors that name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unreadable or not a plain tensor dict
        raise ValueError(f"{path}: cannot read checkpoint ({exc})") from exc
    if not isinstance(ckpt, dict) or "generator" not in ckpt.get("model", {}):
        raise ValueError(f"{path}: not an AudioDec checkpoint (no ['model']['generator'])")
    return ckpt


def load_generator_state(model: nn.Module, state: dict[str, torch.Tensor], where: str) -> None:
    """``load_state_dict(strict=True)`` with a short message on mismatch."""
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0:3]
        raise ValueError(
            f"{where}: weights do not match the config.yml next to it: {' '.join(first)}"
        ) from exc


def load_model(path: Path, device: str = "cpu") -> tuple[Generator | Vocoder, ModelConfig]:
    """Generator or vocoder from a checkpoint and its ``config.yml``, eval mode, cached by (path, device)."""
    key = (str(Path(path).resolve()), device)
    if key not in _CACHE:
        cfg = config_for_checkpoint(Path(path))
        model = build_model(cfg)
        load_generator_state(model, read_checkpoint(Path(path))["model"]["generator"], str(path))
        model.to(device).eval()
        for p in model.parameters():
            p.requires_grad_(False)
        _CACHE[key] = (model, cfg)
    return _CACHE[key]  # type: ignore[return-value]


def save_checkpoint(
    path: Path,
    cfg: ModelConfig,
    generator: nn.Module,
    discriminator: nn.Module | None = None,
    optimizer: dict[str, Any] | None = None,
    scheduler: dict[str, Any] | None = None,
    steps: int = 0,
    epochs: int = 0,
) -> None:
    """Write the official layout plus ``config.yml`` in the same folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model: dict[str, Any] = {"generator": {k: v.detach().cpu() for k, v in generator.state_dict().items()}}
    if discriminator is not None:
        model["discriminator"] = {k: v.detach().cpu() for k, v in discriminator.state_dict().items()}
    state = {
        "model": model,
        "optimizer": optimizer or {},
        "scheduler": scheduler or {},
        "steps": steps,
        "epochs": epochs,
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
    save_config(cfg, path.parent / "config.yml")


def latest_checkpoint(folder: Path) -> Path | None:
    """The ``checkpoint-<N>steps.pkl`` with the largest N in ``folder``, or None."""
    best: tuple[int, Path] | None = None
    for p in Path(folder).glob("checkpoint-*steps.pkl"):
        try:
            n = int(p.name[len("checkpoint-") : -len("steps.pkl")])
        except ValueError:
            continue
        if best is None or n > best[0]:
            best = (n, p)
    return best[1] if best else None
