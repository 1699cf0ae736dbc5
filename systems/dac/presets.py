"""DAC's model hyper-parameters and the released models' values, as data (no torch): what ``bench systems``
reads to check and describe the systems; the model (systems/dac/model.py) is built from them."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class DACConfig:
    """Model hyper-parameters (names as in ``metadata["kwargs"]`` of the released files)."""

    encoder_dim: int = 64
    encoder_rates: tuple[int, ...] = (2, 4, 8, 8)
    latent_dim: int | None = None
    decoder_dim: int = 1536
    decoder_rates: tuple[int, ...] = (8, 8, 4, 2)
    n_codebooks: int = 9
    codebook_size: int = 1024
    codebook_dim: int | tuple[int, ...] = 8
    sample_rate: int = 44100

    @classmethod
    def from_kwargs(cls, kwargs: dict, source: str) -> DACConfig:
        """Build from checkpoint metadata; ``quantizer_dropout`` (training only) is ignored.

        Raises:
            ValueError: an unknown key (naming ``source``).
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known - {"quantizer_dropout"})
        if unknown:
            raise ValueError(f"{source}: unknown DAC model arguments {unknown}")
        values = {k: v for k, v in kwargs.items() if k in known}
        for key in ("encoder_rates", "decoder_rates"):
            if key in values:
                values[key] = tuple(int(r) for r in values[key])
        if isinstance(values.get("codebook_dim"), list):
            values["codebook_dim"] = tuple(values["codebook_dim"])
        return cls(**values)

    @property
    def latent(self) -> int:
        """Latent width: ``latent_dim`` or ``encoder_dim * 2 ** len(encoder_rates)``."""
        return self.latent_dim or self.encoder_dim * 2 ** len(self.encoder_rates)

    @property
    def hop(self) -> int:
        return math.prod(self.encoder_rates)


#: The released models' arguments (DAC's ``conf/final/*.yml``).
PRESETS: dict[str, DACConfig] = {
    "44khz_8kbps": DACConfig(),
    "24khz_8kbps": DACConfig(encoder_rates=(2, 4, 5, 8), decoder_rates=(8, 5, 4, 2), n_codebooks=32,
                             sample_rate=24000),
    "16khz_8kbps": DACConfig(encoder_rates=(2, 4, 5, 8), decoder_rates=(8, 5, 4, 2), n_codebooks=12,
                             sample_rate=16000),
    "44khz_16kbps": DACConfig(latent_dim=128, n_codebooks=18),
}
