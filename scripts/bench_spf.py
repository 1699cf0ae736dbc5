#!/usr/bin/env python3
"""Time the SPF on this machine: seconds per network evaluation (NFE) and the sampler's real-time factor.

    python scripts/bench_spf.py [--seconds 4] [--threads 1] [--device cpu] [--run-demo-sampler]

* full (NCSN++ nf 128, ~65M parameters): only ``--full-evals`` evaluations (default 1) on a short
  input (``--full-seconds``, default 1 s) are timed; the per-NFE time for ``--seconds`` of audio and
  the PC N=30 (60 NFE) real-time factor are EXTRAPOLATED linearly in the number of STFT frames.
* demo (the shipped tiny model): NFE timed on ``--seconds`` of audio (mean of ``--demo-evals``), RTF
  reported for 60 NFE (the paper's PC N=30 budget) and for its recommended sampler; ``--run-demo-sampler`` also runs the
  recommended sampler end to end through ``enhance`` and reports the measured RTF.
Weights do not affect speed, so untrained weights are used when none are shipped.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing


def time_nfe(model, seconds: float, evals: int, device: str) -> float:
    """Mean seconds of one network evaluation on ``seconds`` of audio (after one warm-up call)."""
    import torch

    from systems.spf.inference import padded_length

    n = padded_length(int(seconds * model.cfg.sample_rate), model.cfg.stft.hop, model.cfg.stft.frame_multiple)
    y = model.stft.forward(torch.zeros(1, n, device=device) + 0.01)
    y, _ = model.stft.pad_frames(y)
    t = torch.full((1,), 0.5, device=device)
    with torch.no_grad():
        model(y, y, t)
        start = time.perf_counter()
        for _ in range(evals):
            model(y, y, t)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
    return (time.perf_counter() - start) / evals


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=4.0, help="audio length the RTF refers to")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--full-seconds", type=float, default=1.0)
    p.add_argument("--full-evals", type=int, default=1)
    p.add_argument("--demo-evals", type=int, default=3)
    p.add_argument("--run-demo-sampler", action="store_true")
    args = p.parse_args(argv)

    import torch

    from systems.spf.checkpoint import load_checkpoint
    from systems.spf.config import preset
    from systems.spf.inference import enhance
    from systems.spf.model import ScoreModel
    from systems.spf.ncsnpp import count_parameters
    from systems.spf.postfilter import DEMO_WEIGHTS
    from systems.spf.sampling import SamplerSettings

    torch.set_num_threads(args.threads)
    print(f"device {args.device}, {args.threads} thread(s), torch {torch.__version__}")

    full = ScoreModel(preset("full")).to(args.device).eval()
    t_short = time_nfe(full, args.full_seconds, args.full_evals, args.device)
    per_nfe = t_short * args.seconds / args.full_seconds
    print(f"full  ({count_parameters(full) / 1e6:.2f}M params): {t_short:.2f} s per NFE on {args.full_seconds:g} s "
          f"(measured, {args.full_evals} eval) -> EXTRAPOLATED {per_nfe:.2f} s per NFE on {args.seconds:g} s; "
          f"PC N=30 (60 NFE) RTF ~{60 * per_nfe / args.seconds:.1f} (extrapolated)")
    del full

    if DEMO_WEIGHTS.is_file():
        demo, _ = load_checkpoint(DEMO_WEIGHTS, device=args.device)
        label = "demo (shipped weights)"
    else:
        demo = ScoreModel(preset("demo")).to(args.device).eval()
        label = "demo (untrained, no shipped weights)"
    per_nfe = time_nfe(demo, args.seconds, args.demo_evals, args.device)
    rec = demo.cfg.sampler
    rec_settings = SamplerSettings(rec.name, rec.steps, rec.snr, demo.cfg.sde.name)
    rec_nfe = rec_settings.expected_nfe()
    print(f"{label} ({count_parameters(demo) / 1e3:.0f}k params, sde {demo.cfg.sde.name}): {per_nfe:.3f} s per NFE "
          f"on {args.seconds:g} s (measured); 60 NFE (the paper's PC N=30) RTF {60 * per_nfe / args.seconds:.2f}; "
          f"recommended {rec.name} steps={rec.steps} ({rec_nfe} NFE) RTF {rec_nfe * per_nfe / args.seconds:.2f}")
    if args.run_demo_sampler:
        audio = (0.1 * np.random.default_rng(0).standard_normal(int(args.seconds * 48000))).astype(np.float32)
        start = time.perf_counter()
        (_, info), = enhance(demo, [audio], [0], rec_settings, device=args.device, batch_size=1)
        took = time.perf_counter() - start
        print(f"demo {rec.name} steps={rec.steps} end to end: {took:.2f} s for {args.seconds:g} s, "
              f"RTF {took / args.seconds:.2f}, NFE {info['nfe']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
