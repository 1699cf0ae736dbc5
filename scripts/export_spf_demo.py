#!/usr/bin/env python3
"""Ship a trained post-filter as the demo weights: EMA weights only, the recommended sampler set.

Reads a checkpoint written by ``bench train spf`` (``OUT/spf.pt``, or ``OUT/last.pt``: its EMA weights are
taken, its optimiser state dropped), sets the sampler the weights recommend (what ``opus+spf`` uses when
the spec sets none) and writes ``systems/spf/weights/demo.pt``. ``--note`` adds free text to ``meta``
(e.g. how the sampler was chosen); the sha256 of the written file is printed.

    python scripts/export_spf_demo.py runs/spf_sb/spf.pt --sampler ode --steps 4 \\
        --data "espeak-ng training speech (scripts/make_training_speech.py)"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from systems.spf.checkpoint import FORMAT, save_checkpoint
from systems.spf.config import SPFConfig
from systems.spf.model import ScoreModel
from systems.spf.postfilter import DEMO_WEIGHTS
from systems.spf.sampling import SamplerSettings


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", type=Path, help="spf.pt or last.pt of `bench train spf`")
    p.add_argument("--sampler", required=True, help="recommended sampler (OUVE: pc, ode; SBVE: ode, sde)")
    p.add_argument("--steps", required=True, type=int, help="recommended reverse steps")
    p.add_argument("--data", help="training data description stored in meta (default: keep)")
    p.add_argument("--note", help="free text stored as meta['selection']")
    p.add_argument("--out", type=Path, default=DEMO_WEIGHTS, help=f"default: {DEMO_WEIGHTS}")
    args = p.parse_args(argv)

    payload = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    if payload.get("format") != FORMAT:
        print(f"error: {args.checkpoint}: not a codec-bench SPF checkpoint", file=sys.stderr)
        return 2
    cfg = SPFConfig.from_dict(payload["config"], source=str(args.checkpoint))
    try:
        SamplerSettings(args.sampler, args.steps, cfg.sampler.snr, cfg.sde.name)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cfg = cfg.updated({"sampler": {"name": args.sampler, "steps": args.steps}})
    state = payload["state_dict"]  # the EMA weights in both spf.pt and last.pt
    model = ScoreModel(cfg)
    model.load_state_dict(state)  # refuses weights that do not fit the config
    meta = dict(payload.get("meta", {}))
    if "train_state" in payload:
        meta.setdefault("step", int(payload["train_state"]["step"]))
    if args.data:
        meta["data"] = args.data
    if args.note:
        meta["selection"] = args.note
    sha = save_checkpoint(args.out, model, state, meta)
    n = sum(v.numel() for v in state.values())
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB, {n} parameters, sde {cfg.sde.name}, "
          f"step {meta.get('step')}, sampler {args.sampler} steps={args.steps}), sha256 {sha}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
