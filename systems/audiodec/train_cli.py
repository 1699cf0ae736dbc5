"""``bench train autoencoder|autoencoder-gan|vocoder``: the AudioDec training recipes.

    bench train autoencoder --config systems/audiodec/configs/symAD_c16_tiny.yaml --data DIR --out exp/ae
    bench train autoencoder-gan --config exp/ae/config.yml --init exp/ae/checkpoint-1000steps.pkl --data DIR --out exp/ae_gan
    bench train vocoder --config systems/audiodec/configs/AudioDec_v1_c16_tiny.yaml \\
        --analyzer exp/ae/checkpoint-1000steps.pkl --data DIR --out exp/voc
"""

from __future__ import annotations

import argparse
from pathlib import Path

_HELP = {
    "autoencoder": "AudioDec stage 1: encoder, VQ and decoder with mel + VQ losses",
    "autoencoder-gan": "AudioDec stage 2: retrain the decoder adversarially (MPD + MSD) on frozen codes",
    "vocoder": "AudioDec multi-group HiFi-GAN vocoder on a frozen encoder's quantized codes",
}


def recipe_help(name: str) -> str:
    """One line for ``bench train --help``."""
    return _HELP[name]


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """Options of recipe ``name``."""
    parser.description = _HELP[name]
    parser.epilog = __doc__
    parser.add_argument("--config", type=Path, required=True, help="config YAML (official key names)")
    parser.add_argument("--data", required=True, help="folder of wav/flac files, or a corpus spec")
    parser.add_argument("--out", type=Path, required=True, help="output folder; rerunning resumes from it")
    parser.add_argument("--steps", type=int, default=None, help="steps to run (default: from the config)")
    parser.add_argument("--device", default=None, help="torch device (default: cuda when present, else cpu)")
    parser.add_argument("--seed", type=int, default=None, help="RNG seed (default: the config's seed)")
    parser.add_argument("--batch-size", type=int, default=None, help="override the config's batch_size")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    if name == "autoencoder-gan":
        parser.add_argument("--init", type=Path, default=None, help="stage-1 checkpoint to start from")
    if name == "vocoder":
        parser.add_argument(
            "--analyzer",
            type=Path,
            default=None,
            help="autoencoder checkpoint giving the codes (default: analyzer: in the config)",
        )


def main(args: argparse.Namespace) -> int:
    """Run the recipe; prints the last checkpoint written."""
    import torch

    from bench.errors import UsageError
    from systems.audiodec.config import load_config
    from systems.audiodec.train import Trainer, TrainRequest

    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        cfg = load_config(args.config)
        req = TrainRequest(
            recipe=args.recipe,
            cfg=cfg,
            data=args.data,
            out=args.out,
            steps=args.steps,
            init=getattr(args, "init", None),
            analyzer=getattr(args, "analyzer", None),
            device=device,
            seed=args.seed,
            batch_size=args.batch_size,
            progress=not args.no_progress,
        )
        trainer = Trainer(req)
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from exc
    last = trainer.run()
    print(f"last checkpoint: {last}")
    return 0
