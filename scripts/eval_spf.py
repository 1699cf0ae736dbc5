#!/usr/bin/env python3
"""Does the SPF help? CODEC vs CODEC+spf on held-out clean files, per-utterance change with its 95% CI.

    python scripts/eval_spf.py --data heldout/ --codec opus,audiodec_stage1 [--checkpoint runs/spf/spf.pt]
        [--sampler ode --steps 4] [--limit 6] [--metrics pesq_wb,si_sdr,mel_distance] [--noise-floor-dbfs -70]

Prints one block per codec with the mean metrics (each pair scored by ``bench.evaluate``: resampled,
aligned and scored as `bench run` does), the mean per-utterance change ± 95% CI (normal approximation) and the wall time of the
post-filter; writes nothing. ``--noise-floor-dbfs`` prepares each clean file as the demo corpus is made
(0.2 s of silence at both ends, peak -3 dBFS, a seeded Gaussian floor at that RMS level, 16-bit).
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
    p.add_argument("--metrics", default="si_sdr,phase_distance", help="comma-separated metrics")
    p.add_argument("--noise-floor-dbfs", type=float, default=None,
                   help="add a recording noise floor to the clean files (as the demo corpus has: -70)")
    args = p.parse_args(argv)

    import torch

    from bench import METRICS, evaluate
    from bench.audio import fit_length, read_mono, resample
    from systems import RunSettings, build_system
    from systems.spf.data import open_utterances

    if args.threads:
        torch.set_num_threads(args.threads)
    utts = open_utterances(args.data)
    if args.limit:
        utts = utts[: args.limit]
    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())

    def prepare(clean: np.ndarray, index: int) -> np.ndarray:
        if args.noise_floor_dbfs is None:
            return clean
        pad = np.zeros(int(0.2 * 48000))
        x = np.concatenate([pad, clean, pad])
        x = x / np.abs(x).max() * 10 ** (-3 / 20)
        x = x + np.random.default_rng(1000 + index).normal(0.0, 10 ** (args.noise_floor_dbfs / 20), len(x))
        return (np.clip(np.round(x * 32767), -32768, 32767) / 32768).astype(np.float32)  # as soundfile reads 16-bit
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
        for i, u in enumerate(utts):
            clean = prepare(read_mono(u.path, 48000), i)
            # the codec codes at its own rate; the post-filter gets its output at the post-filter's rate
            out = base.process(resample(clean, 48000, base.sample_rate), utterance_id=u.id).audio
            coded = fit_length(resample(out, base.output_rate, pf.sample_rate), len(clean))
            t0 = time.perf_counter()
            enhanced, _ = pf.process(coded, seed=filtered.utterance_seed(u.id))
            spf_time += time.perf_counter() - t0
            seconds += len(clean) / 48000
            for label, y in (("codec", coded), ("codec+spf", enhanced)):
                scores = evaluate(clean, y, 48000, metrics)
                for name in metrics:
                    rows[label][name].append(scores[name])
        s = pf.sampler_settings()
        print(f"{codec}: {len(utts)} files, {seconds:.1f} s; SPF {s.name} steps={s.steps} "
              f"NFE={s.expected_nfe()}: {spf_time:.1f} s (RTF {spf_time / seconds:.2f})")
        for label, vals in rows.items():
            print(f"  {label:10s} " + "  ".join(f"{m} {np.mean(v):7.3f}" for m, v in vals.items()))
        deltas = {m: np.array(rows['codec+spf'][m]) - np.array(rows['codec'][m]) for m in metrics}
        for m, d in deltas.items():
            ci = 1.96 * d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
            better = int(np.sum(d > 0 if METRICS.get(m).spec.higher_is_better else d < 0))
            print(f"  change {m:14s} {d.mean():+.4f} ± {ci:.4f} (95% CI), better on {better}/{len(d)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
