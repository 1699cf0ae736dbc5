"""The DAC systems: ``dac_44k``, ``dac_24k`` and ``dac_16k`` (the released 8 kbps-class models).

Each works at its model's rate (44100, 24000 or 16000 Hz: the runner resamples at the system's boundary
only when the evaluation rate differs), zero-pads every utterance to
whole frames (as the package's ``preprocess`` does), codes it with the first ``codebooks`` codebooks
(default: all of them), decodes, and crops to the input's length; the model is centred (no delay).
Utterances of equal padded length are coded together, so the output never depends on which
utterances share a batch. Bits are ``frames x codebooks x 10``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from systems.dac.checkpoint import RELEASES
from systems.dac.presets import PRESETS
from systems.options import option
from systems.released import Coded, ReleasedCodecSystem, length_groups


def _kbps(model: str, codebooks: int | None = None) -> float:
    cfg = PRESETS[model]
    n = cfg.n_codebooks if codebooks is None else codebooks
    return round(n * math.log2(cfg.codebook_size) * cfg.sample_rate / cfg.hop / 1000, 3)


def codebooks_for_kbps(kbps: float, frame_rate: float, bits_per_codebook: float, available: int) -> int:
    """The most codebooks whose bitrate stays within ``kbps`` (+0.5 %: ``dac_44k@8k`` is 7.75 kbps, 9 codebooks).

    Raises:
        ValueError: not even one codebook fits, or the rate needs more codebooks than the model has.
    """
    per_codebook = bits_per_codebook * frame_rate / 1000
    n = math.floor(kbps * 1.005 / per_codebook)
    if not 1 <= n <= available:
        raise ValueError(f"{kbps:g} kbps is not reachable: the model codes {per_codebook:.3f} kbps per codebook "
                         f"with 1..{available} codebooks ({per_codebook:.3f}..{available * per_codebook:.3f} kbps)")
    return n


@dataclass(frozen=True)
class DACOptions:
    """``dac_44k@6k``, ``dac_44k[codebooks=4]``."""

    kbps: float | None = option(None, unit="kbps", min=0.5, max=30,
                                help="bitrate: the most codebooks within it (default: all codebooks)")
    codebooks: int | None = option(None, min=1, max=32,
                                   help="codebooks used, 10 bits each per frame (default: all; not with kbps)")


class DACSystem(ReleasedCodecSystem):
    """One released DAC model, using its first ``codebooks`` codebooks, or as many as ``kbps`` allows
    (neither: all of them)."""

    model_key: ClassVar[str]
    Options = DACOptions
    shorthand = "kbps"

    def _check_options(self) -> None:
        if self.options.codebooks is not None and self.options.kbps is not None:
            raise ValueError(f"{self.kind}: set codebooks or kbps, not both")
        self.requested_codebooks, self.requested_kbps = self.options.codebooks, self.options.kbps

    def _load(self, path: Path) -> None:
        from systems.dac.checkpoint import load_model

        self.model = load_model(path, self.settings.device)
        cfg = self.model.config
        if cfg.sample_rate != self.model_rate:
            raise ValueError(f"{path}: a {cfg.sample_rate} Hz DAC model, but {self.kind} is the "
                             f"{self.model_rate} Hz one")
        self.codebooks = cfg.n_codebooks if self.requested_codebooks is None else self.requested_codebooks
        if self.requested_kbps is not None:
            self.codebooks = codebooks_for_kbps(self.requested_kbps, cfg.sample_rate / cfg.hop,
                                                self.model.bits_per_codebook, cfg.n_codebooks)
        if not 1 <= self.codebooks <= cfg.n_codebooks:
            raise ValueError(f"{path}: {self.codebooks} codebooks requested; the model has 1..{cfg.n_codebooks}")
        self.nominal_kbps = round(
            self.codebooks * self.model.bits_per_codebook * cfg.sample_rate / cfg.hop / 1000, 3
        )
        self.description = (f"DAC {cfg.sample_rate / 1000:g} kHz, {self.codebooks} of {cfg.n_codebooks} codebooks "
                            f"({self.nominal_kbps:g} kbps), official weights")

    def _code(self, audios: list[np.ndarray]) -> list[Coded]:
        import torch

        m = self.model
        padded = [np.pad(a, (0, -len(a) % m.hop)) for a in audios]
        decoded: list[Any] = [None] * len(audios)
        for idx in length_groups([len(p) for p in padded], self.settings.batch_size):
            x = torch.from_numpy(np.stack([padded[i] for i in idx]))[:, None, :].to(self.settings.device)
            with torch.inference_mode():
                y = m.decode(m.encode(x, self.codebooks)).cpu()
            for row, i in enumerate(idx):
                decoded[i] = y[row, 0]
        out = []
        for a, p, y in zip(audios, padded, decoded):
            frames = len(p) // m.hop
            bits = frames * self.codebooks * m.bits_per_codebook
            info = {"codebooks": self.codebooks, "frames": frames}
            out.append(Coded(y[: len(a)].numpy().astype(np.float32), float(bits), info))
        return out

    def provenance(self) -> dict[str, Any]:
        cfg = self.model.config
        return {
            **self._provenance(),
            "model": self.model_key,
            "codebooks": self.codebooks,
            "codebooks_in_model": cfg.n_codebooks,
            "frame_rate": cfg.sample_rate / cfg.hop,
            "kbps": self.nominal_kbps,
            "delay_samples": 0,
        }


class DAC44k(DACSystem):
    """The 44.1 kHz model (9 codebooks, 7.75 kbps)."""

    kind: ClassVar[str] = "dac_44k"
    model_key: ClassVar[str] = "44khz_8kbps"
    model_rate: ClassVar[int] = 44100
    weights = RELEASES["44khz_8kbps"]
    nominal_kbps: float | None = _kbps("44khz_8kbps")
    description: ClassVar[str] = "DAC 44.1 kHz, 9 codebooks (7.75 kbps), official weights"


class DAC24k(DACSystem):
    """The 24 kHz model (32 codebooks, 24 kbps)."""

    kind: ClassVar[str] = "dac_24k"
    model_key: ClassVar[str] = "24khz_8kbps"
    model_rate: ClassVar[int] = 24000
    weights = RELEASES["24khz_8kbps"]
    nominal_kbps: float | None = _kbps("24khz_8kbps")
    description: ClassVar[str] = "DAC 24 kHz, 32 codebooks (24 kbps), official weights"


class DAC16k(DACSystem):
    """The 16 kHz model (12 codebooks, 6 kbps)."""

    kind: ClassVar[str] = "dac_16k"
    model_key: ClassVar[str] = "16khz_8kbps"
    model_rate: ClassVar[int] = 16000
    weights = RELEASES["16khz_8kbps"]
    nominal_kbps: float | None = _kbps("16khz_8kbps")
    description: ClassVar[str] = "DAC 16 kHz, 12 codebooks (6 kbps), official weights"
