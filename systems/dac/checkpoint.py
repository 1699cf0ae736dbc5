"""DAC's released ``weights.pth`` files: ``{"state_dict": ..., "metadata": {"kwargs": {...}}}``.

The model is built from the constructor arguments in ``metadata["kwargs"]`` and loaded strictly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from systems.dac.presets import DACConfig
from systems.released import ReleasedWeights, dac_cache_dir, load_state_strict

#: model -> (release file name, file name in the package's download cache, download-registry entry)
FILES = {
    "44khz_8kbps": ("weights.pth", "weights_44khz_8kbps_0.0.1.pth", "dac-44khz"),
    "24khz_8kbps": ("weights_24khz.pth", "weights_24khz_8kbps_0.0.4.pth", "dac-24khz"),
    "16khz_8kbps": ("weights_16khz.pth", "weights_16khz_8kbps_0.0.5.pth", "dac-16khz"),
}
if TYPE_CHECKING:
    from systems.dac.model import DAC

RELEASES = {
    model: ReleasedWeights("dac", (release, cached), entry, dac_cache_dir)
    for model, (release, cached, entry) in FILES.items()
}


def load_model(path: Path, device: str = "cpu") -> DAC:
    """The model described by ``path``'s metadata with its weights (strict), in eval mode on ``device``.

    Raises:
        ValueError: unreadable file, missing metadata, unknown arguments or mismatched weights (naming the file).
    """
    import torch

    from systems.dac.model import DAC

    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path}: cannot be read as a DAC weights file ({exc})") from exc
    if not isinstance(saved, dict) or "state_dict" not in saved or "kwargs" not in saved.get("metadata", {}):
        raise ValueError(f"{path}: not a DAC weights file (expected state_dict and metadata.kwargs)")
    config = DACConfig.from_kwargs(saved["metadata"]["kwargs"], str(path))
    model = load_state_strict(lambda: DAC(config), saved["state_dict"], path, "DAC")
    return model.to(device).eval()
