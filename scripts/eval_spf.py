#!/usr/bin/env python3
"""Does the SPF help? SI-SDR and phase distance of CODEC vs CODEC+spf on held-out clean files.

    python scripts/eval_spf.py --data /tmp/heldout --codec opus [--checkpoint runs/spf/spf.pt]
        [--sampler ode --steps 4] [--limit 6]

Prints one line per codec with the mean metrics (the suite's own si_sdr / phase_distance metrics)
and the wall time of the post-filter, and writes nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="folder of clean wav/flac (not used in training)")
    p.add_argument("--codec", default="opus", help="comma-separated system specs")
    p.add_argument("--checkpoint", type=Path, help="SPF weights (default: the shipped demo weights)")
    p.add_argument("--sampler", default=None, help="pc or ode (default: the weights' recommended sampler)")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--snr", type=float, default=None)
    p.add_argument("--limit", type=int, default=0, help="use only the first N files")
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)

    import torch

    from bench.audio import read_mono
    from metrics import METRICS
    from systems import RunSettings, build_system
    from systems.spf.data import align, open_utterances

    if args.threads:
        torch.set_num_threads(args.threads)
    utts = open_utterances(args.data)
    if args.limit:
        utts = utts[: args.limit]
    metrics = {name: METRICS.get(name)() for name in ("si_sdr", "phase_distance")}
    for codec in args.codec.split(","):
        ckpts = {"spf": args.checkpoint} if args.checkpoint else {}
        settings = RunSettings(checkpoints=ckpts)
        spf_options = ",".join(f"{k}={v}" for k, v in (("sampler", args.sampler), ("steps", args.steps),
                                                        ("snr", args.snr)) if v is not None)
        base = build_system(codec, settings)
        filtered = build_system(f"{codec}+spf" + (f"[{spf_options}]" if spf_options else ""), settings)
        pf = filtered.postfilters[0]
        rows = {"codec": {m: [] for m in metrics}, "codec+spf": {m: [] for m in metrics}}
        seconds, spf_time = 0.0, 0.0
        for u in utts:
            clean = read_mono(u.path, 48000)
            coded = base.process(clean, utterance_id=u.id).audio
            t0 = time.perf_counter()
            enhanced, _ = pf.process(coded, seed=filtered.utterance_seed(u.id))
            spf_time += time.perf_counter() - t0
            seconds += len(clean) / 48000
            for label, out in (("codec", coded), ("codec+spf", enhanced)):
                aligned, _ = align(clean, out)
                for name, metric in metrics.items():
                    rows[label][name].append(metric.compute(reference=clean, degraded=aligned, sample_rate=48000))
        s = pf.sampler_settings()
        print(f"{codec}: {len(utts)} files, {seconds:.1f} s; SPF {s.name} steps={s.steps} "
              f"NFE={s.expected_nfe()}: {spf_time:.1f} s (RTF {spf_time / seconds:.2f})")
        for label, vals in rows.items():
            print(f"  {label:10s} " + "  ".join(f"{m} {np.mean(v):7.3f}" for m, v in vals.items()))
        deltas = {m: np.array(rows['codec+spf'][m]) - np.array(rows['codec'][m]) for m in metrics}
        print("  per-file delta: " + "  ".join(
            f"{m} mean {d.mean():+.3f} (better on {int(np.sum(d > 0 if m == 'si_sdr' else d < 0))}/{len(d)})"
            for m, d in deltas.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
