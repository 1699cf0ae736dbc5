"""EnCodec's two released configurations, as data (no torch): what ``bench systems`` reads to check and
describe the systems; the model (systems/encodec/model.py) is built from them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EncodecConfig:
    """One released configuration (see the module docstring)."""

    name: str
    sample_rate: int
    channels: int
    causal: bool
    norm: str
    normalize: bool
    segment_s: float | None
    bandwidths: tuple[float, ...]
    overlap: float = 0.01
    bins: int = 1024


PRESETS: dict[str, EncodecConfig] = {
    "encodec_24khz": EncodecConfig(
        "encodec_24khz", 24000, 1, True, "weight_norm", False, None, (1.5, 3.0, 6.0, 12.0, 24.0)
    ),
    "encodec_48khz": EncodecConfig(
        "encodec_48khz", 48000, 2, False, "time_group_norm", True, 1.0, (3.0, 6.0, 12.0, 24.0)
    ),
}
