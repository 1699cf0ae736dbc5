"""ScoreDec's score-based diffusion post-filter (SPF) in the compressed complex STFT domain.

Public API: :class:`SPFConfig` / :func:`preset` (settings), :class:`CompressedSTFT`, :class:`OUVESDE`,
:class:`NCSNpp`, :class:`ScoreModel`, the samplers (:func:`run_sampler`), :func:`enhance`,
:func:`load_checkpoint` / :func:`save_checkpoint`, and the ``spf`` post-filter :class:`ScorePostFilter`.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> defining module (imported on first use, so ``import systems.spf`` stays cheap)
_EXPORTS: dict[str, str] = {
    "load_checkpoint": "checkpoint",
    "save_checkpoint": "checkpoint",
    "SPFConfig": "config",
    "load_config": "config",
    "preset": "config",
    "enhance": "inference",
    "ScoreModel": "model",
    "NCSNpp": "ncsnpp",
    "count_parameters": "ncsnpp",
    "ScorePostFilter": "postfilter",
    "SAMPLERS": "sampling",
    "SamplerSettings": "sampling",
    "run_sampler": "sampling",
    "OUVESDE": "sde",
    "CompressedSTFT": "stft",
}

__all__ = [
    "OUVESDE",
    "SAMPLERS",
    "CompressedSTFT",
    "NCSNpp",
    "SPFConfig",
    "SamplerSettings",
    "ScoreModel",
    "ScorePostFilter",
    "count_parameters",
    "enhance",
    "load_checkpoint",
    "load_config",
    "preset",
    "run_sampler",
    "save_checkpoint",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'systems.spf' has no attribute {name!r}")
    return getattr(importlib.import_module(f"systems.spf.{_EXPORTS[name]}"), name)
