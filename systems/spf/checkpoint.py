"""SPF checkpoints: our own self-describing format, and SGMSE+ Lightning ``.ckpt`` import.

Our format (``torch.save`` of a dict, loadable with ``weights_only=True``)::

    {
      "format": "codec-bench-spf", "version": 1,
      "config": SPFConfig.to_dict(),          # everything needed to rebuild the model
      "state_dict": {...},                    # ScoreModel weights = the EMA weights (used at inference)
      "meta": {"codecs": [...], "step": int, "data": str, "seconds": float, ...},
      "train_state": {...}                    # optional, for resuming: raw weights, EMA, optimizer, step, RNG
    }

The sha256 of the file is recorded in provenance. Shipped weights carry no ``train_state``.

SGMSE+ checkpoints (PyTorch Lightning): ``state_dict`` with ``dnn.``-prefixed NCSN++ keys from a flat
``all_modules`` list, ``ema`` (torch_ema: ``shadow_params`` in ``dnn.parameters()`` order) and
``hyper_parameters``. :func:`load_sgmse` maps them onto our named modules when the backbone matches
(the 48 kHz ``ncsnpp_48k`` layout: no progressive input/output branches).

Loading is always ``weights_only``: nothing in a checkpoint is executed. SGMSE+'s ``ScoreModel`` saves its
constructor arguments with Lightning's ``save_hyperparameters``, including ``data_module_cls`` (a class), which
plain ``weights_only`` loading refuses ("Unsupported global"). :func:`read_torch_file` lists such globals
without unpickling (``torch.serialization.get_unsafe_globals_in_checkpoint``) and lets each one load as an
:class:`UnloadedGlobal` placeholder that only carries its name: the class is never imported or called.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from bench.audio import sha256_file
from systems.spf.config import SPFConfig, preset
from systems.spf.layers import AttnBlock, FourierTimeEmbedding, ResBlock
from systems.spf.model import ScoreModel

FORMAT = "codec-bench-spf"
VERSION = 1


def save_checkpoint(
    path: Path, model: ScoreModel, ema_state: dict[str, torch.Tensor], meta: dict[str, Any],
    train_state: dict[str, Any] | None = None,
) -> str:
    """Write our format (EMA weights as ``state_dict``). Returns the file's sha256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "config": model.cfg.to_dict(),
        "state_dict": {k: v.detach().cpu().clone() for k, v in ema_state.items()},
        "meta": meta,
    }
    if train_state is not None:
        payload["train_state"] = train_state
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return sha256_file(path)


class UnloadedGlobal:
    """Stands in for a class or function that a checkpoint names but that is not imported (never run).

    The placeholder *class* (one per name, see :func:`read_torch_file`) takes the global's place; if the
    pickle builds an object from it, the object keeps the arguments and state as plain data.
    """

    qualified_name: ClassVar[str] = "?"
    args: tuple[Any, ...] = ()
    state: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self.__dict__.setdefault("items", {})[key] = value

    def __repr__(self) -> str:
        return f"<unloaded {self.qualified_name} object>"


def _placeholder(name: str) -> type[UnloadedGlobal]:
    return type(name.rsplit(".", 1)[-1], (UnloadedGlobal,), {"qualified_name": name})


def read_torch_file(path: Path) -> Any:
    """``torch.load(weights_only=True)`` in which globals outside torch's allow-list load as
    :class:`UnloadedGlobal` placeholders (names only) instead of failing; CPU tensors."""
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except (ValueError, RuntimeError, OSError):  # not a torch.save zip: the load below says what is wrong
        unsafe = []
    with torch.serialization.safe_globals([(_placeholder(name), name) for name in unsafe]):
        return torch.load(path, map_location="cpu", weights_only=True)


def export_inference(src: Path, dst: Path) -> str:
    """Copy a training checkpoint (``last.pt``) without its ``train_state``; returns the new sha256."""
    payload = torch.load(Path(src), map_location="cpu", weights_only=True)
    if payload.get("format") != FORMAT:
        raise ValueError(f"{src}: not a codec-bench SPF checkpoint")
    payload.pop("train_state", None)
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, Path(dst))
    return sha256_file(Path(dst))


def load_checkpoint(path: Path, device: str = "cpu") -> tuple[ScoreModel, dict[str, Any]]:
    """Load our format or an SGMSE+ ``.ckpt`` (detected by its keys).

    Returns:
        (model in eval mode on ``device``, info with ``format``, ``sha256``, ``meta``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SPF checkpoint {path} does not exist")
    try:
        payload = read_torch_file(path)
    except Exception as exc:
        raise ValueError(f"{path}: not a loadable torch checkpoint ({exc})") from exc
    if not isinstance(payload, dict):
        raise TypeError(f"{path}: expected a dict checkpoint, got {type(payload).__name__}")
    if payload.get("format") == FORMAT:
        if payload.get("version") != VERSION:
            raise ValueError(f"{path}: SPF checkpoint version {payload.get('version')} unsupported")
        cfg = SPFConfig.from_dict(payload["config"], source=f"{path}:config")
        model = ScoreModel(cfg)
        model.load_state_dict(payload["state_dict"], strict=True)
        info = {"format": FORMAT, "meta": payload.get("meta", {})}
    elif "state_dict" in payload and any(k.startswith("dnn.") for k in payload["state_dict"]):
        model = load_sgmse(payload, source=str(path))
        info = {"format": "sgmse+", "meta": {"hyper_parameters": _jsonable(payload.get("hyper_parameters", {}))}}
    else:
        raise ValueError(f"{path}: neither a codec-bench SPF checkpoint nor an SGMSE+ Lightning checkpoint")
    info["sha256"] = sha256_file(path)
    return model.to(device).eval(), info


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, type) and issubclass(obj, UnloadedGlobal):
        return obj.qualified_name
    if isinstance(obj, UnloadedGlobal):
        return repr(obj)
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj if isinstance(obj, (str, int, float, bool, type(None))) else str(obj)


# ----------------------------------------------------------------------------------------- SGMSE+ import

_RES_NAMES = {"GroupNorm_0": "norm1", "Conv_0": "conv1", "Dense_0": "temb_proj", "GroupNorm_1": "norm2",
              "Conv_1": "conv2", "Conv_2": "skip"}
_ATTN_NAMES = {"GroupNorm_0": "norm", "NIN_0": "query", "NIN_1": "key", "NIN_2": "value", "NIN_3": "out"}


def sgmse_module_order(model: ScoreModel) -> list[tuple[str, nn.Module]]:
    """Our submodules in the order SGMSE+'s NCSN++ appends them to ``all_modules``: ``[(prefix, module)]``."""
    bb = model.backbone
    order: list[tuple[str, nn.Module]] = [
        ("backbone.time_embed", bb.time_embed),
        ("backbone.time_embed.dense1", bb.time_embed.dense1),
        ("backbone.time_embed.dense2", bb.time_embed.dense2),
        ("backbone.input_conv", bb.input_conv),
    ]
    for li, level in enumerate(bb.down):
        for bi, block in enumerate(level.blocks):
            order.append((f"backbone.down.{li}.blocks.{bi}", block))
            if level.attns is not None:
                order.append((f"backbone.down.{li}.attns.{bi}", level.attns[bi]))
        if level.downsample is not None:
            order.append((f"backbone.down.{li}.downsample", level.downsample))
    for name in ("res1", "attn", "res2"):
        order.append((f"backbone.bottleneck.{name}", getattr(bb.bottleneck, name)))
    for li, level in enumerate(bb.up):
        for bi, block in enumerate(level.blocks):
            order.append((f"backbone.up.{li}.blocks.{bi}", block))
        if level.attn is not None:
            order.append((f"backbone.up.{li}.attn", level.attn))
        if level.upsample is not None:
            order.append((f"backbone.up.{li}.upsample", level.upsample))
    order += [("backbone.out_norm", bb.out_norm), ("backbone.out_conv", bb.out_conv)]
    return order


def sgmse_key_map(model: ScoreModel) -> dict[str, tuple[str, bool]]:
    """SGMSE+ key (without ``dnn.``) -> (our key, transpose?)."""
    out: dict[str, tuple[str, bool]] = {
        "output_layer.weight": ("backbone.output_layer.weight", False),
        "output_layer.bias": ("backbone.output_layer.bias", False),
    }
    for idx, (prefix, module) in enumerate(sgmse_module_order(model)):
        theirs = f"all_modules.{idx}"
        if isinstance(module, FourierTimeEmbedding):
            out[f"{theirs}.W"] = (f"{prefix}.freqs", False)
        elif isinstance(module, (ResBlock, AttnBlock)):
            names = _RES_NAMES if isinstance(module, ResBlock) else _ATTN_NAMES
            for sub_theirs, sub_ours in names.items():
                if getattr(module, sub_ours, None) is None:
                    continue
                nin = isinstance(module, AttnBlock) and sub_theirs.startswith("NIN")
                out[f"{theirs}.{sub_theirs}.{'W' if nin else 'weight'}"] = (f"{prefix}.{sub_ours}.weight", nin)
                out[f"{theirs}.{sub_theirs}.{'b' if nin else 'bias'}"] = (f"{prefix}.{sub_ours}.bias", False)
        else:
            out[f"{theirs}.weight"] = (f"{prefix}.weight", False)
            out[f"{theirs}.bias"] = (f"{prefix}.bias", False)
    return out


#: SGMSE+ hyper-parameters that change what the network computes and that have one supported value:
#: ``key -> (value when absent, supported value, what another value means)``. Absent keys take SGMSE+'s
#: defaults (those of train.py's argument parser and of the NCSN++ constructor).
_FIXED_HPARAMS: dict[str, tuple[Any, Any, str]] = {
    "sde": ("ouve", "ouve", "another SDE"),
    "transform_type": ("exponent", "exponent", "another spectral transform"),
    "centered": (True, True, "NCSN++ rescales its input to 2x - 1"),
    "embedding_type": ("fourier", "fourier", "another time embedding"),
    "resblock_type": ("biggan", "biggan", "other residual blocks"),
    "conditional": (True, True, "no time conditioning"),
    "scale_by_sigma": (True, True, "another output scaling"),
    "nonlinearity": ("swish", "swish", "another activation"),
    "fir": (True, True, "resampling without FIR filters"),
    "resamp_with_conv": (True, True, "resampling without convolutions"),
    "progressive_combine": ("sum", "sum", "another skip combination"),
    "image_size": (256, 256, "other attention resolutions"),
}
#: ScoreModel losses whose trained network output is a score (the others predict data)
_SCORE_LOSSES = ("score_matching", "denoiser")


def config_from_sgmse(hp: dict[str, Any], source: str) -> SPFConfig:
    """Translate SGMSE+ ``hyper_parameters`` to our config; refuse any setting we do not implement."""
    backbone = hp.get("backbone", "ncsnpp_48k")
    if backbone not in ("ncsnpp_48k", "ncsnpp"):
        raise ValueError(f"{source}: SGMSE+ backbone {backbone!r} is not NCSN++; cannot load")
    default_progressive = "none" if backbone == "ncsnpp_48k" else "output_skip"
    if hp.get("progressive", default_progressive) != "none" or hp.get("progressive_input", "none" if
                                                                       backbone == "ncsnpp_48k" else "input_skip") != "none":
        raise ValueError(f"{source}: NCSN++ with progressive skip branches is not supported (only the ncsnpp_48k layout)")
    for key, (default, supported, meaning) in _FIXED_HPARAMS.items():
        value = hp.get(key, default)
        if value != supported:
            raise ValueError(f"{source}: hyper-parameter {key}={value!r} ({meaning}) is not supported; "
                             f"only {key}={supported!r}")
    if hp.get("loss_type", "score_matching") not in _SCORE_LOSSES:
        raise ValueError(f"{source}: loss_type={hp['loss_type']!r} trains a data predictor, not a score model")
    attn = list(hp.get("attn_resolutions", [] if backbone == "ncsnpp_48k" else [16]))
    ch_mult = list(hp.get("ch_mult", [1, 1, 2, 2, 2, 2, 2]))
    levels = [i for i in range(len(ch_mult)) if 256 // 2**i in attn]
    upd = {
        "stft": {k: hp[h] for k, h in (("n_fft", "n_fft"), ("hop", "hop_length"), ("window", "window"),
                                        ("alpha", "spec_abs_exponent"), ("beta", "spec_factor")) if h in hp},
        "sde": {k: hp[k] for k in ("theta", "sigma_min", "sigma_max", "t_eps") if k in hp},
        "backbone": {"nf": hp.get("nf", 128), "ch_mult": ch_mult, "num_res_blocks": hp.get("num_res_blocks", 2),
                     "attn_levels": levels, "output_scaling": "t",
                     **{k: hp[k] for k in ("fourier_scale", "fir_kernel", "skip_rescale") if k in hp}},
    }
    return preset("full").updated(upd, source=source)


def load_sgmse(payload: dict[str, Any], source: str) -> ScoreModel:
    """Build a ScoreModel from an SGMSE+ Lightning checkpoint dict, using its EMA weights when present."""
    cfg = config_from_sgmse(dict(payload.get("hyper_parameters", {})), source)
    model = ScoreModel(cfg)
    theirs = {k[4:]: v for k, v in payload["state_dict"].items() if k.startswith("dnn.")}
    ema = payload.get("ema")
    if ema is not None:
        shadow = list(ema.get("shadow_params", []))
        if len(shadow) != len(theirs):
            raise ValueError(f"{source}: EMA has {len(shadow)} tensors but the network {len(theirs)}")
        theirs = dict(zip(theirs, shadow))  # torch_ema keeps dnn.parameters() order = state_dict order
    mapping = sgmse_key_map(model)
    missing = sorted(set(mapping) - set(theirs))
    extra = sorted(set(theirs) - set(mapping))
    if missing or extra:
        raise ValueError(f"{source}: backbone does not match (missing {missing[:5]}, unexpected {extra[:5]})")
    ours = {}
    for key, value in theirs.items():
        target, transpose = mapping[key]
        ours[target] = value.t().contiguous() if transpose else value
    model.load_state_dict(ours, strict=True)
    return model
