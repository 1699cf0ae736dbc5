"""``bench train spf``: train a (generalized) score-based post-filter on one or more codecs.

Pairs are (clean, coded) with the coded audio produced by running each ``--codec`` system through
``systems.build_system`` (cached under ``OUT/pairs``); several codecs train one generalized SPF.
``OUT/last.pt`` is written every ``save_every`` steps (resumable with ``--resume``), ``OUT/spf.pt`` at
the end (EMA weights only: pass it with ``--checkpoint spf=OUT/spf.pt`` or ship it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

EPILOG = """examples:
  bench train spf --codec opus --data folder:data/train --out runs/spf_opus --preset demo --steps 2000
  bench train spf --codec audiodec_stage1,opus --data vctk:/data/VCTK --out runs/spf_general --config my.yaml
  bench train spf --codec opus --data data/train --out runs/spf_opus --resume --steps 4000
  bench train spf --codec opus --data data/train --out runs/spf_sb --preset demo --sde sbve --steps 2000
"""


def recipe_help(name: str) -> str:
    """One-line help for ``bench train --help``."""
    return "score-based diffusion post-filter (SPF) on coded/clean pairs of one or more codecs"


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """Options of ``bench train spf``."""
    parser.description = __doc__
    parser.epilog = EPILOG
    parser.add_argument("--codec", required=True, help="system spec(s), comma-separated (e.g. opus,audiodec_stage1)")
    parser.add_argument("--data", required=True, help="a folder of wav/flac, or a corpus spec (demo, folder:, vctk:, manifest:)")
    parser.add_argument("--out", required=True, type=Path, help="output folder (checkpoints, log, pair cache)")
    parser.add_argument("--config", type=Path, help="JSON/YAML config (keys of SPFConfig; 'preset' picks the base)")
    from systems.spf.config import PRESETS

    parser.add_argument("--preset", default="full", choices=list(PRESETS),
                        help=f"base config when --config is absent: {', '.join(PRESETS)} (default: full)")
    parser.add_argument("--sde", choices=["ouve", "sbve"],
                        help="diffusion process: ouve (the paper's score model, PC sampler) or sbve (SGMSE+'s "
                             "Schroedinger bridge, data prediction, ODE/SDE sampler in a few steps); "
                             "default: the config's sde.name")
    parser.add_argument("--steps", type=int, help="total optimiser steps (default: the config's train.steps)")
    parser.add_argument("--seed", type=int, help="training seed (default: the config's train.seed)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: the config's train.threads)")
    parser.add_argument("--cache", type=Path, help="coded-audio cache folder (default: OUT/pairs)")
    parser.add_argument("--exclude-speakers", default="",
                        help="comma-separated speakers left out of training (corpus specs), e.g. p232,p257")
    parser.add_argument("--weights", type=Path,
                        help="official AudioDec exp/ folder for AudioDec codecs (default: the demo weights)")
    parser.add_argument("--amp", action="store_true", help="mixed precision (float16 autocast) on CUDA")


def main(args: argparse.Namespace) -> int:
    """Run the recipe. Returns the exit code."""
    import torch
    from tqdm import tqdm

    from bench.errors import UsageError
    from systems.spf.config import SPFConfig, load_config, preset, with_sde
    from systems.spf.data import build_pairs, open_utterances
    from systems.spf.train import Trainer, train_loop

    try:
        cfg = load_config(args.config) if args.config else preset(args.preset)
        if args.sde:
            cfg = with_sde(cfg, args.sde)
    except (ValueError, TypeError, OSError) as exc:
        raise UsageError(str(exc)) from None
    updates: dict = {}
    if args.steps is not None:
        updates["steps"] = args.steps
    if args.seed is not None:
        updates["seed"] = args.seed
    if args.threads is not None:
        updates["threads"] = args.threads
    cfg = cfg.updated({"train": updates})
    out: Path = args.out
    last = out / "last.pt"
    payload = None
    if args.resume:
        if not last.is_file():
            raise UsageError(f"--resume: {last} does not exist")
        payload = torch.load(last, map_location="cpu", weights_only=True)
        saved = SPFConfig.from_dict(payload["config"], source=str(last))
        if args.sde and args.sde != saved.sde.name:
            raise UsageError(f"--resume: --sde {args.sde} differs from sde {saved.sde.name!r} inside {last}")
        if args.config and saved.updated({"train": {"steps": cfg.train.steps, "threads": cfg.train.threads}}
                                         ).to_dict() != cfg.to_dict():
            raise UsageError(f"--resume: {args.config} differs from the config inside {last}")
        cfg = saved.updated({"train": updates})  # only what the command line sets explicitly
    elif last.is_file():
        raise UsageError(f"{last} exists: pass --resume to continue, or choose another --out")
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    codecs = [c.strip() for c in args.codec.split(",") if c.strip()]
    out.mkdir(parents=True, exist_ok=True)
    if args.weights is not None and not args.weights.is_dir():
        raise UsageError(f"--weights {args.weights}: not a folder")
    exclude = tuple(s.strip() for s in args.exclude_speakers.split(",") if s.strip())
    try:
        utts = open_utterances(args.data, exclude)
        trainer = Trainer(cfg, device=device, amp=args.amp)
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from None
    pairs = build_pairs(codecs, utts, args.cache or out / "pairs", cfg.sample_rate, device=device,
                        weights_dir=args.weights)
    previous_codecs: list[str] = []
    if payload is not None:
        trainer.load_train_state(payload)
        previous_codecs = list(payload.get("meta", {}).get("codecs", []))
    meta = {"codecs": sorted(set(previous_codecs) | set(codecs)), "data": args.data, "utterances": len(utts),
            "device": device}
    (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
    bar = tqdm(total=cfg.train.steps, initial=trainer.step, desc="spf", unit="step", dynamic_ncols=True)

    def progress(step: int, loss: float) -> None:
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.4f}")

    train_loop(trainer, pairs, cfg.train.steps, out, meta, progress)
    bar.close()
    sha = trainer.save(out / "spf.pt", meta, with_train_state=False)
    print(f"wrote {out / 'spf.pt'} (sha256 {sha}), step {trainer.step}, codecs {meta['codecs']}")
    return 0
