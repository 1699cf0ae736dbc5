"""Which checkpoint files each AudioDec system uses: overrides, an official ``exp/`` folder, or the demo.

Official file names (``RunSettings.weights_dir`` is the unzipped ``exp/`` folder or its parent):

=================  =========================================================  ==================================
system             encoder                                                    decoder
=================  =========================================================  ==================================
symad              autoencoder/symAD_c16_vctk_48000_hop320/checkpoint-500000   same folder, checkpoint-1000000
audiodec_stage1    autoencoder/symAD_c16_vctk_48000_hop320/checkpoint-500000   same file
audiodec           the vocoder config's ``analyzer``                          vocoder/AudioDec_v1_symAD_c16_... (24 kbps,
                                                                              if trained) else AudioDec_v1_symAD_vctk_48000_hop300_clean
=================  =========================================================  ==================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

DEMO_DIR = Path(__file__).parent / "weights"
#: the download-registry entry of the official release (its unpacked ``exp/``)
RELEASE = "audiodec-exp"
C16 = "autoencoder/symAD_c16_vctk_48000_hop320"
STAGE1 = f"{C16}/checkpoint-500000steps.pkl"
STAGE2 = f"{C16}/checkpoint-1000000steps.pkl"
VOCODER_C16 = "vocoder/AudioDec_v1_symAD_c16_vctk_48000_hop320_clean"
VOCODER_V1 = "vocoder/AudioDec_v1_symAD_vctk_48000_hop300_clean/checkpoint-500000steps.pkl"

DEMO = {
    "symad": ("symad_c16_tiny/stage1.pt", "symad_c16_tiny/stage2.pt"),
    "audiodec_stage1": ("symad_c16_tiny/stage1.pt", "symad_c16_tiny/stage1.pt"),
    "audiodec": (None, "vocoder_c16_tiny/vocoder.pt"),
}


@dataclass
class WeightsChoice:
    """Resolved files for one system.

    Attributes:
        encoder: checkpoint giving encoder, projector and quantizer.
        decoder: checkpoint giving the decoder (autoencoder) or the vocoder.
        source: "demo", "official" or "override".
        delay: known output delay in samples (measured for the demo weights; 0 otherwise).
        notes: human-readable remarks (e.g. "12.8 kbps pair: no 24 kbps vocoder released").
    """

    encoder: Path
    decoder: Path
    source: str
    delay: int = 0
    notes: list[str] = field(default_factory=list)


def _exp_root(weights_dir: Path) -> Path:
    """Accept the ``exp/`` folder itself or the folder that holds it."""
    return weights_dir / "exp" if (weights_dir / "exp").is_dir() else weights_dir


def resolve_analyzer(vocoder_ckpt: Path) -> Path:
    """The encoder checkpoint named by ``analyzer:`` in the vocoder's config.yml.

    Relative paths are tried against the vocoder folder and then each of its ancestors (the official
    value ``exp/autoencoder/...`` is relative to the folder holding ``exp/``).
    """
    import yaml

    cfg_path = Path(vocoder_ckpt).parent / "config.yml"  # only its analyzer: entry (the model is not built)
    if not cfg_path.is_file():
        raise FileNotFoundError(f"{vocoder_ckpt}: no config.yml next to the checkpoint")
    analyzer = (yaml.safe_load(cfg_path.read_text()) or {}).get("analyzer")
    if not analyzer:
        raise FileNotFoundError(f"{cfg_path}: no analyzer: entry naming the encoder checkpoint")
    candidate = Path(analyzer)
    if candidate.is_absolute():
        if candidate.is_file():
            return candidate
    else:
        for base in [vocoder_ckpt.parent, *vocoder_ckpt.parent.parents]:
            if (base / candidate).is_file():
                return base / candidate
    raise FileNotFoundError(f"{cfg_path}: analyzer {analyzer} not found near {vocoder_ckpt.parent}")


def demo_delays() -> dict[str, int]:
    """Measured output delays of the demo weights (``weights/manifest.json``)."""
    path = DEMO_DIR / "manifest.json"
    if not path.is_file():
        return {}
    return {k: int(v) for k, v in json.loads(path.read_text())["delay_samples"].items()}


def _demo(kind: str) -> WeightsChoice:
    enc, dec = DEMO[kind]
    dec_path = DEMO_DIR / dec
    if not dec_path.is_file():
        raise FileNotFoundError(
            f"demo weights missing: {dec_path} (reinstall the package or pass --weights)"
        )
    enc_path = DEMO_DIR / enc if enc else resolve_analyzer(dec_path)
    if not enc_path.is_file():
        raise FileNotFoundError(
            f"demo weights missing: {enc_path} (reinstall the package or pass --weights)"
        )
    return WeightsChoice(enc_path, dec_path, "demo", demo_delays().get(kind, 0))


def _official(kind: str, weights_dir: Path) -> WeightsChoice:
    from systems.audiodec.checkpoint import latest_checkpoint

    root = _exp_root(weights_dir)
    if kind in ("symad", "audiodec_stage1"):
        enc = root / STAGE1
        dec = root / (STAGE2 if kind == "symad" else STAGE1)
        for p in (enc, dec):
            if not p.is_file():
                raise FileNotFoundError(
                    f"{p} not found (expected the official release layout under {weights_dir})"
                )
        return WeightsChoice(enc, dec, "official")
    trained = latest_checkpoint(root / VOCODER_C16) if (root / VOCODER_C16).is_dir() else None
    if trained is not None:
        return WeightsChoice(resolve_analyzer(trained), trained, "official", notes=["24 kbps vocoder"])
    voc = root / VOCODER_V1
    if not voc.is_file():
        raise FileNotFoundError(f"{voc} not found (expected the official release layout under {weights_dir})")
    note = "12.8 kbps pair (hop 300, 8 codebooks): no 24 kbps vocoder was released; train one with bench train vocoder"
    return WeightsChoice(resolve_analyzer(voc), voc, "official", notes=[note])


#: the values of the AudioDec systems' ``weights`` option
MODES = ("auto", "official", "demo")


def choose_weights(kind: str, weights_dir: Path | None, override: Path | None, *, mode: str = "auto",
                   fetch: bool = False) -> WeightsChoice:
    """Resolve the files of system ``kind``. Raises FileNotFoundError with a clear message.

    Args:
        kind: ``symad``, ``audiodec_stage1`` or ``audiodec``.
        weights_dir: ``--weights`` (an unzipped official ``exp/``), or None.
        override: ``--checkpoint KIND=FILE``, or None.
        mode: ``auto``: ``override``, then ``weights_dir``, then the official release from the download
            cache, downloading it first when ``fetch`` and not offline, else the shipped demo weights;
            ``official``: ``weights_dir`` or else the release from the cache (downloaded on first use; offline
            and not cached raises :class:`bench.downloads.OfflineError`); ``demo``: the shipped demo weights.
        fetch: ``auto`` may download the release (the system was named in ``--systems``).
    Raises:
        bench.downloads.DownloadError: the release could not be downloaded (an ``OfflineError`` when offline).
    """
    if mode not in MODES:
        raise ValueError(f"weights={mode}: must be one of {', '.join(MODES)}")
    if mode == "demo":
        return _demo(kind)
    if mode == "auto" and override is not None:
        override = Path(override)
        if not override.is_file():
            raise FileNotFoundError(f"checkpoint override for {kind}: {override} not found")
        if kind == "audiodec":
            return WeightsChoice(resolve_analyzer(override), override, "override")
        return WeightsChoice(override, override, "override")
    if weights_dir is not None:
        return _official(kind, Path(weights_dir))
    from bench.downloads import DownloadError, OfflineError, cached, is_offline, resolve

    if mode == "official" or cached(RELEASE) is not None or (fetch and not is_offline()):
        try:
            release = resolve(RELEASE)  # cached and intact: no download; either way recorded for run.json
        except OfflineError:
            raise
        except DownloadError as exc:
            if mode == "official":
                raise
            raise DownloadError(f"{exc}; or run the shipped demo weights: {kind}[weights=demo] (or --offline)") \
                from None
        choice = _official(kind, release)
        choice.notes.append(f"official release from the download cache ({release})")
        return choice
    return _demo(kind)
