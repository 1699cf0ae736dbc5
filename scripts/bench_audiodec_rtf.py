#!/usr/bin/env python3
"""CPU real-time factor of AudioDec encode + decode (full c16 model, random weights, batch 1).

RTF = processing time / audio duration (below 1 is faster than real time).

    python scripts/bench_audiodec_rtf.py                    # 2 threads, 10 s of audio, offline
    python scripts/bench_audiodec_rtf.py --streaming        # hop-by-hop with cached history
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from systems.audiodec.checkpoint import build_model
from systems.audiodec.codec import Codec
from systems.audiodec.config import load_config, packaged_config
from systems.audiodec.generator import Generator


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="symAD_c16_vctk_48000_hop320", help="packaged config name")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--streaming", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = load_config(packaged_config(args.config))
    gen = build_model(cfg)
    assert isinstance(gen, Generator)
    gen.eval()
    codec = Codec(gen, gen)
    n = int(args.seconds * cfg.sampling_rate) // codec.hop * codec.hop
    x = 0.1 * torch.randn(1, 1, n)
    codec.run(x[..., : 10 * codec.hop], streaming=args.streaming)  # warm-up
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        codec.run(x, streaming=args.streaming)
        times.append(time.perf_counter() - t0)
    best = min(times)
    params = sum(q.numel() for q in gen.parameters())
    mode = "streaming" if args.streaming else "offline"
    print(
        f"{args.config}: {params:,} parameters, {mode}, batch 1, {args.threads} threads, {n / cfg.sampling_rate:.1f} s audio"
    )
    print(f"encode+decode: best {best:.3f} s of {args.repeats} -> RTF {best / (n / cfg.sampling_rate):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
