"""The ``config.yml`` schema shared with the official AudioDec experiments.

A config is the official file format: top-level keys such as ``model_type``, ``sampling_rate``,
``generator_params``, ``mel_loss_params``, ``lambda_mel_loss``. We read the keys we use into typed
dataclasses, accept (and ignore) the other keys the official configs carry, and reject anything else,
naming the file and the key. Assumptions (we have no official file to check against):

* ``model_type: symAudioDec`` is an autoencoder (generator = :class:`GeneratorParams`),
  ``model_type: HiFiGAN`` a vocoder (generator = :class:`VocoderParams`) whose ``analyzer`` names the
  autoencoder checkpoint giving its encoder.
* ``generator_params`` must hold only the official constructor argument names.
* ``stats`` in a vocoder only switches the code normalisation on; the statistics themselves are the
  ``mean``/``scale`` buffers of the checkpoint.
* Our own keys: ``codebook_init`` (``random`` | ``data``: initialise codebooks from the first batch)
  and ``num_threads``; both are optional.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from systems.audiodec.generator import GeneratorParams
from systems.audiodec.vocoder import VocoderParams

MODEL_TYPES = {"symAudioDec": "autoencoder", "HiFiGAN": "vocoder"}

#: Keys of the official configs that this suite does not use (accepted, ignored, kept when re-saved).
IGNORED_OFFICIAL_KEYS = frozenset(
    {
        "complex_stft_loss_params",
        "config",
        "data",
        "disable_cudnn",
        "discriminator_adv_loss_params",
        "discriminator_grad_norm",
        "discriminator_optimizer_type",
        "discriminator_scheduler_params",
        "discriminator_scheduler_type",
        "discriminator_train_start_steps",
        "eval_interval_steps",
        "exp_root",
        "feat_match_loss_params",
        "generator_adv_loss_params",
        "generator_grad_norm",
        "generator_optimizer_type",
        "generator_scheduler_params",
        "generator_scheduler_type",
        "generator_train_start_steps",
        "lambda_complex_stft_l1loss",
        "lambda_complex_stft_l2loss",
        "lambda_shape_loss",
        "lambda_stft_loss",
        "num_workers",
        "outdir",
        "paradigm",
        "pin_memory",
        "resume",
        "shape_loss_params",
        "stft_loss_params",
        "tag",
        "train_mode",
        "use_complex_stft_loss",
        "use_feat_match_loss",
        "use_mel_loss",
        "use_shape_loss",
        "use_stft_loss",
    }
)


@dataclass(frozen=True)
class MelLossParams:
    """``mel_loss_params``: log-mel L1 loss settings (official key names; one resolution is used)."""

    fft_sizes: tuple[int, ...] = (2048,)
    hop_sizes: tuple[int, ...] = (320,)
    win_lengths: tuple[int, ...] = (2048,)
    window: str = "hann_window"
    num_mels: int = 80
    fmin: float = 0.0
    fmax: float | None = 24000.0
    fs: int = 48000
    log_base: float | None = None


@dataclass(frozen=True)
class TrainSettings:
    """The training keys of a config (official names and defaults of the paper's c16 model)."""

    batch_size: int = 16
    batch_length: int = 96000
    adv_batch_length: int = 9600
    train_max_steps: int = 500000
    adv_train_max_steps: int = 1000000
    lambda_mel_loss: float = 45.0
    lambda_vq_loss: float = 1.0
    lambda_adv: float = 1.0
    lambda_feat_match: float = 2.0
    generator_optimizer_params: dict[str, Any] = field(
        default_factory=lambda: {"lr": 1e-4, "betas": [0.5, 0.9]}
    )
    discriminator_optimizer_params: dict[str, Any] = field(
        default_factory=lambda: {"lr": 2e-4, "betas": [0.5, 0.9]}
    )
    discriminator_params: dict[str, Any] = field(default_factory=dict)
    mel_loss_params: MelLossParams = field(default_factory=MelLossParams)
    start_steps: dict[str, int] = field(default_factory=lambda: {"generator": 0, "discriminator": 500000})
    seed: int = 1337
    log_interval_steps: int = 100
    save_interval_steps: int = 100000
    codebook_init: str = "random"
    num_threads: int = 0


@dataclass
class ModelConfig:
    """A parsed ``config.yml``.

    Attributes:
        kind: "autoencoder" or "vocoder".
        sampling_rate: Hz.
        generator: the generator parameters.
        train: the training settings.
        analyzer: (vocoder) the autoencoder checkpoint giving the encoder, as written in the file.
        raw: the whole mapping, written back unchanged (plus edits) when saving.
        path: the file it came from (None when built in memory).
    """

    kind: str
    sampling_rate: int
    generator: GeneratorParams | VocoderParams
    train: TrainSettings
    analyzer: str | None
    raw: dict[str, Any]
    path: Path | None = None


def _check_keys(mapping: dict[str, Any], allowed: set[str], where: str) -> None:
    for key in mapping:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=2)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ValueError(f"{where}: unknown key {key!r}{hint}")


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def _dataclass_from(cls: type, mapping: dict[str, Any], where: str) -> Any:
    names = {f.name for f in fields(cls)}
    _check_keys(mapping, names, where)
    return cls(**{k: (v if isinstance(v, dict) else _tuples(v)) for k, v in mapping.items()})


def parse_config(raw: dict[str, Any], where: str = "config") -> ModelConfig:
    """Validate a config mapping. Raises ValueError naming ``where`` and the offending key."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected a mapping at the top level")  # noqa: TRY004 (a bad file, not a bad call)
    train_keys = {f.name for f in fields(TrainSettings)}
    top = {"model_type", "sampling_rate", "generator_params", "analyzer", "batch_size"} | train_keys
    _check_keys(raw, top | IGNORED_OFFICIAL_KEYS, where)
    model_type = raw.get("model_type")
    if model_type not in MODEL_TYPES:
        raise ValueError(f"{where}: model_type must be one of {sorted(MODEL_TYPES)} (got {model_type!r})")
    kind = MODEL_TYPES[model_type]
    gp = raw.get("generator_params") or {}
    gcls = GeneratorParams if kind == "autoencoder" else VocoderParams
    generator = _dataclass_from(gcls, gp, f"{where}: generator_params")
    train_raw = {k: v for k, v in raw.items() if k in train_keys}
    if "mel_loss_params" in train_raw:
        train_raw["mel_loss_params"] = _dataclass_from(
            MelLossParams, train_raw["mel_loss_params"], f"{where}: mel_loss_params"
        )
    train = _dataclass_from(TrainSettings, train_raw, where)
    if train.codebook_init not in ("random", "data"):
        raise ValueError(f"{where}: codebook_init must be 'random' or 'data' (got {train.codebook_init!r})")
    return ModelConfig(
        kind=kind,
        sampling_rate=int(raw.get("sampling_rate", 48000)),
        generator=generator,
        train=train,
        analyzer=raw.get("analyzer"),
        raw=raw,
    )


def load_config(path: Path) -> ModelConfig:
    """Read and validate a ``config.yml`` (or any YAML config in this schema)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: config not found")
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    cfg = parse_config(raw, str(path))
    cfg.path = path
    return cfg


def save_config(cfg: ModelConfig, path: Path) -> None:
    """Write ``cfg.raw`` as YAML (the file our loader and the official tools read)."""
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg.raw, f, sort_keys=True)


def config_for_checkpoint(checkpoint: Path) -> ModelConfig:
    """The ``config.yml`` next to ``checkpoint``; a clear error when it is missing."""
    cfg_path = Path(checkpoint).parent / "config.yml"
    if not cfg_path.is_file():
        raise FileNotFoundError(f"{checkpoint}: no config.yml next to the checkpoint")
    return load_config(cfg_path)


PACKAGE_CONFIGS = Path(__file__).parent / "configs"


def packaged_config(name: str) -> Path:
    """Path of ``systems/audiodec/configs/<name>.yaml``."""
    path = PACKAGE_CONFIGS / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PACKAGE_CONFIGS.glob("*.yaml"))
        raise FileNotFoundError(f"no packaged config {name!r}; known: {', '.join(known)}")
    return path
