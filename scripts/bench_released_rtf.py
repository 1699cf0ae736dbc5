#!/usr/bin/env python3
"""CPU real-time factor of the EnCodec and DAC systems (random weights of the released sizes, batch 1).

RTF = processing time / audio duration (below 1 is faster than real time); the CPU seconds per audio
second are printed too (they depend less on what else the machine runs). Each system runs as in
``bench run``: 48 kHz in, resampled to the model's rate, coded, decoded, resampled back. The weights are
random (same architecture and cost as the released ones), written to a temporary file and loaded
through the system. The last line printed is JSON ``{"<system>_rtf": value, ...}``.

    python scripts/bench_released_rtf.py                      # all five, 2 threads, 5 s of audio
    python scripts/bench_released_rtf.py --systems encodec --seconds 10
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from systems import RunSettings, build_system
from systems.dac.model import DAC, PRESETS
from systems.encodec.model import build_model

ALL = ["encodec", "encodec_48k", "dac_44k", "dac_24k", "dac_16k"]
DAC_MODELS = {"dac_44k": "44khz_8kbps", "dac_24k": "24khz_8kbps", "dac_16k": "16khz_8kbps"}


def random_checkpoint(kind: str, folder: Path) -> Path:
    """A released-size checkpoint with random weights, in the format the system loads."""
    torch.manual_seed(0)
    path = folder / f"{kind}.pth"
    if kind in DAC_MODELS:
        cfg = PRESETS[DAC_MODELS[kind]]
        kwargs = {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.__dict__.items()}
        torch.save({"state_dict": DAC(cfg).state_dict(), "metadata": {"kwargs": kwargs}}, path)
    else:
        model = build_model("encodec_24khz" if kind == "encodec" else "encodec_48khz")
        for name, buf in model.named_buffers():
            if name.endswith("_codebook.embed"):
                buf.copy_(torch.randn(buf.shape) * 0.3)
        torch.save(model.state_dict(), path)
    return path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--systems", default=",".join(ALL), help="comma-separated subset of " + ", ".join(ALL))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in [s.strip() for s in args.systems.split(",") if s.strip()]:
            ckpt = random_checkpoint(kind, Path(tmp))
            system = build_system(kind, RunSettings(checkpoints={kind: ckpt}, batch_size=1))
            # the system codes at its own rate: ``seconds`` of audio at that rate
            rate = system.sample_rate
            x = (0.1 * np.random.default_rng(0).standard_normal(int(args.seconds * rate))).astype(np.float32)
            system.process(x[: rate // 10], utterance_id="warm-up")
            times, cpu = [], []
            for _ in range(args.repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                system.process(x, utterance_id="x")
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            rtf = min(times) / args.seconds
            params = sum(q.numel() for q in system.model.parameters())
            print(f"{kind}: {params:,} parameters, {system.nominal_kbps:g} kbps, batch 1, {args.threads} threads, "
                  f"{args.seconds:g} s audio: best {min(times):.2f} s of {args.repeats} -> RTF {rtf:.3f} "
                  f"({min(cpu) / args.seconds:.2f} CPU s per audio s)")
            result[f"{kind}_rtf"] = round(rtf, 4)
            ckpt.unlink()
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} cores")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
