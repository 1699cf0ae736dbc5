"""The ``spf`` post-filter: ``--systems opus+spf``, ``scoredec`` (= ``audiodec_stage1+spf``), ``opus_spf``.

Options (``opus+spf[sampler=ode,steps=8]``): :class:`SPFOptions`.
Weights: ``RunSettings.checkpoints`` keyed by a registered composite whose spec is ``<codec>+spf``
(``scoredec``, ``opus_spf``), by ``<codec>+spf``, or by ``spf``; otherwise the shipped demo weights
(``systems/spf/weights/demo.pt``, a tiny CPU-trained model, provenance ``weights: "demo"``).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from systems.base import PostFilter, RunSettings
from systems.options import option

DEMO_WEIGHTS = Path(__file__).parent / "weights" / "demo.pt"


def checkpoint_keys(codec_name: str) -> list[str]:
    """Keys of ``RunSettings.checkpoints`` consulted for the SPF after ``codec_name``, in order."""
    from systems import COMPOSITES

    composite = [name for name, spec in COMPOSITES.items() if spec == f"{codec_name}+spf"]
    return [*composite, f"{codec_name}+spf", "spf"]


@dataclass(frozen=True)
class SPFOptions:
    """Reverse-process settings; None takes the value the weights recommend (their config's ``sampler``)."""

    sampler: str | None = option(None, choices=("pc", "ode", "sde"),
                                 help="pc (predictor-corrector) or ode (probability flow) for OUVE weights; ode or sde for "
                                      "Schroedinger-bridge weights; none: as recommended")
    steps: int | None = option(None, unit="steps", min=1, max=1000,
                               help="reverse steps N (PC: 2N network evaluations, ODE: N; the paper: 30)")
    snr: float | None = option(None, min=0, help="corrector signal-to-noise ratio of annealed Langevin (PC)")


class ScorePostFilter(PostFilter):
    """Score-based diffusion post-filter in the compressed complex STFT domain (SGMSE+ style)."""

    kind: ClassVar[str] = "spf"
    description: ClassVar[str] = "score-based diffusion post-filter (SPF)"
    libraries = ("torch",)
    deterministic: ClassVar[bool] = True  # seeded per utterance
    Options = SPFOptions

    def __init__(self, settings: RunSettings, codec_name: str, options: SPFOptions | None = None) -> None:
        super().__init__(settings, codec_name, options)
        self.weights_key: str | None = None
        self.weights_path = DEMO_WEIGHTS
        for key in checkpoint_keys(codec_name):
            if key in settings.checkpoints:
                self.weights_key, self.weights_path = key, Path(settings.checkpoints[key])
                break
        self._model = None
        self._info: dict[str, Any] = {}

    @classmethod
    def unavailable_reason(cls, settings: RunSettings) -> str | None:
        if importlib.util.find_spec("torch") is None:  # not imported: `bench systems` stays fast
            return "needs torch (pip install torch)"
        if DEMO_WEIGHTS.is_file():
            return None
        from systems import COMPOSITES

        spf_keys = {"spf", *(n for n, spec in COMPOSITES.items() if spec.endswith("+spf"))}
        if any(k in spf_keys or k.endswith("+spf") for k in settings.checkpoints):
            return None
        return f"no SPF weights: {DEMO_WEIGHTS} is missing; pass a checkpoint for 'spf'"

    def _load(self):
        if self._model is None:
            from systems.spf.checkpoint import load_checkpoint

            self._model, self._info = load_checkpoint(self.weights_path, device=self.settings.device)
        return self._model

    def sampler_settings(self):
        """Sampler settings: the options (sampler, steps, snr); a None there takes the value recommended
        by the weights' own config (``sampler`` section of the checkpoint)."""
        from systems.spf.sampling import SamplerSettings

        cfg = self._load().cfg
        rec = cfg.sampler
        o = self.options
        name = o.sampler if o.sampler is not None else rec.name
        steps = o.steps if o.steps is not None else rec.steps
        snr = o.snr if o.snr is not None else rec.snr
        return SamplerSettings(name, int(steps), float(snr), cfg.sde.name)

    def process(self, coded: np.ndarray, *, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
        return self.process_batch([coded], seeds=[seed])[0]

    def process_batch(
        self, coded: list[np.ndarray], *, seeds: list[int]
    ) -> list[tuple[np.ndarray, dict[str, Any]]]:
        """Enhance ``[T_i]`` float32 48 kHz waveforms; each output has exactly its input's length."""
        from systems.spf.inference import enhance

        model = self._load()
        arrays = [np.asarray(c, dtype=np.float32).reshape(-1) for c in coded]
        return enhance(model, arrays, list(seeds), self.sampler_settings(), device=self.settings.device,
                       batch_size=max(1, int(self.settings.batch_size)))

    def provenance(self) -> dict[str, Any]:
        model = self._load()
        s = self.sampler_settings()
        meta = self._info.get("meta", {})
        return {
            "weights": "demo" if self.weights_key is None else str(self.weights_path),
            "checkpoint_key": self.weights_key,
            "sha256": self._info.get("sha256"),
            "format": self._info.get("format"),
            "sde": s.sde,
            "sampler": s.name,
            "steps": s.steps,
            "snr": s.snr if s.name == "pc" else None,
            "nfe_per_utterance": s.expected_nfe(),
            "trained_on": meta.get("codecs"),
            "train_steps": meta.get("step"),
            "config": model.cfg.to_dict(),
        }
