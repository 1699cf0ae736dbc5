"""EnCodec's released state-dict files: names, URLs, checksum and strict loading.

The files are plain ``state_dict``s of the model (``torch.save``); the hex suffix of each name is the
start of its sha256, checked when the file carries that name.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from systems.released import ReleasedWeights, load_state_strict, torch_hub_dir

FILES = {"encodec_24khz": "encodec_24khz-d7cc33bc.th", "encodec_48khz": "encodec_48khz-7e698e3e.th"}
#: preset -> the download-registry entry (URL, checksum, licence: bench/downloads/entries.py)
DOWNLOADS = {"encodec_24khz": "encodec-24khz", "encodec_48khz": "encodec-48khz"}

if TYPE_CHECKING:
    from systems.encodec.model import EncodecModel

RELEASES = {
    preset: ReleasedWeights("encodec", (name,), DOWNLOADS[preset], torch_hub_dir) for preset, name in FILES.items()
}


def check_checksum(path: Path, preset: str) -> None:
    """Verify the sha256 prefix carried by the released file name (other names are not checked).

    Raises:
        ValueError: the file has the release's name but not its content.
    """
    from bench.audio import sha256_file

    if path.name != FILES[preset]:
        return
    expected = path.stem.rsplit("-", 1)[1]
    actual = sha256_file(path)
    if not actual.startswith(expected):
        raise ValueError(f"{path}: sha256 {actual[:8]}... does not match the release's {expected}; "
                         f"download {RELEASES[preset].url} again")


def load_model(path: Path, preset: str, device: str = "cpu") -> EncodecModel:
    """The model of ``preset`` with the weights of ``path`` (strict), in eval mode on ``device``.

    Raises:
        ValueError: the file is not a state dict of this model (names the file and the mismatch).
    """
    import torch

    from systems.encodec.model import build_model

    check_checksum(path, preset)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unreadable or not a plain tensor file
        raise ValueError(f"{path}: cannot be read as an EnCodec state dict ({exc})") from exc
    model = load_state_strict(lambda: build_model(preset), state, path, preset)
    return model.to(device).eval()
