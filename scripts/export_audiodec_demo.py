#!/usr/bin/env python3
"""Copy trained tiny AudioDec checkpoints into the package as demo weights, and measure them.

Writes ``systems/audiodec/weights/symad_c16_tiny/{config.yml,stage1.pt,stage2.pt}``,
``weights/vocoder_c16_tiny/{config.yml,vocoder.pt}`` (generator only, float16 to stay small; the
loader casts back to float32) and ``weights/manifest.json`` with the output delay of each system,
measured by cross-correlation on held-out speech, plus sha256 of the files and STOI when pystoi is
installed.

    python scripts/export_audiodec_demo.py --stage1 exp/ae/checkpoint-2500steps.pkl \\
        --stage2 exp/gan/checkpoint-3100steps.pkl --vocoder exp/voc/checkpoint-1200steps.pkl --eval data/heldout
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.audio import read_mono, sha256_file
from systems.audiodec.checkpoint import load_model, read_checkpoint
from systems.audiodec.codec import Codec, measure_common_delay, measure_delay
from systems.audiodec.config import load_config, save_config
from systems.audiodec.weights import DEMO_DIR


def export(src: Path, dst: Path, analyzer: str | None = None) -> None:
    """Generator-only float16 copy of ``src`` at ``dst`` with its config.yml."""
    ckpt = read_checkpoint(src)
    gen = {k: (v.half() if v.is_floating_point() else v) for k, v in ckpt["model"]["generator"].items()}
    dst.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "model": {"generator": gen},
            "optimizer": {},
            "scheduler": {},
            "steps": ckpt.get("steps", 0),
            "epochs": ckpt.get("epochs", 0),
        },
        dst,
    )
    cfg = load_config(src.parent / "config.yml")
    if analyzer is not None:
        cfg.raw["analyzer"] = analyzer
    save_config(cfg, dst.parent / "config.yml")


def evaluate(kind: str, enc: Path, dec: Path, clips: list[np.ndarray], delay_clips: list[np.ndarray]) -> dict:
    analyzer, _ = load_model(enc)
    synth, _ = load_model(dec)
    codec = Codec(analyzer, synth)  # type: ignore[arg-type]
    delays, stois, outputs = [], [], []
    for x in delay_clips:
        n = len(x) // codec.hop * codec.hop + 2 * codec.hop
        padded = np.zeros(n, dtype=np.float32)
        padded[: len(x)] = x
        y = codec.run(torch.from_numpy(padded).view(1, 1, -1))[0, 0].numpy()
        outputs.append(y)
        delays.append(measure_delay(x, y, 2 * codec.hop))
    delay = measure_common_delay(delay_clips, outputs, 2 * codec.hop)
    try:
        from pystoi import stoi

        for x in clips:
            res = Codec(analyzer, synth, delay=delay).code([x], "cpu")  # type: ignore[arg-type]
            stois.append(stoi(x, res.audio[0], 48000, extended=False))
    except ImportError:
        pass
    out = {"delay_samples": delay, "delays": delays}
    if stois:
        out["stoi_mean"] = float(np.mean(stois))
    print(kind, out)
    return out


def _portable(path: Path) -> str:
    """``path`` relative to the working directory when it lies inside it (no machine path in the manifest)."""
    full = path.resolve()
    return str(full.relative_to(Path.cwd())) if full.is_relative_to(Path.cwd()) else path.name


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stage1", type=Path, required=True)
    p.add_argument("--stage2", type=Path)
    p.add_argument("--vocoder", type=Path)
    p.add_argument("--eval", type=Path, required=True, help="folder of wav/flac files for STOI")
    p.add_argument(
        "--delay-data", type=Path, required=True, help="held-out wav/flac files to measure the delay on"
    )
    args = p.parse_args()
    torch.set_num_threads(1)
    ae_dir, voc_dir = DEMO_DIR / "symad_c16_tiny", DEMO_DIR / "vocoder_c16_tiny"
    if ae_dir.exists():
        shutil.rmtree(ae_dir)
    export(args.stage1, ae_dir / "stage1.pt")
    export(args.stage2 or args.stage1, ae_dir / "stage2.pt")
    if args.vocoder:
        if voc_dir.exists():
            shutil.rmtree(voc_dir)
        export(args.vocoder, voc_dir / "vocoder.pt", analyzer="symad_c16_tiny/stage1.pt")
    clips = [read_mono(f, 48000) for f in sorted(args.eval.iterdir()) if f.suffix in (".wav", ".flac")]
    delay_clips = [
        read_mono(f, 48000) for f in sorted(args.delay_data.iterdir()) if f.suffix in (".wav", ".flac")
    ]
    results = {
        "audiodec_stage1": evaluate(
            "audiodec_stage1", ae_dir / "stage1.pt", ae_dir / "stage1.pt", clips, delay_clips
        ),
        "symad": evaluate("symad", ae_dir / "stage1.pt", ae_dir / "stage2.pt", clips, delay_clips),
    }
    if args.vocoder:
        results["audiodec"] = evaluate(
            "audiodec", ae_dir / "stage1.pt", voc_dir / "vocoder.pt", clips, delay_clips
        )
    files = sorted(p for p in DEMO_DIR.rglob("*") if p.is_file() and p.name != "manifest.json")
    manifest = {
        "delay_samples": {k: v["delay_samples"] for k, v in results.items()},
        "delay_folder": _portable(args.delay_data),
        "delay_method": "peak of the summed RMS-envelope cross-correlations (measure_common_delay)",
        "eval_folder": _portable(args.eval),
        "eval_stoi": {k: round(v["stoi_mean"], 4) for k, v in results.items() if "stoi_mean" in v},
        "sources": {
            "stage1": _portable(args.stage1),
            "stage2": _portable(args.stage2 or args.stage1),
            "vocoder": _portable(args.vocoder) if args.vocoder else None,
        },
        "sha256": {str(f.relative_to(DEMO_DIR)): sha256_file(f) for f in files},
        "note": "float16 copies of the generator weights; the loader casts them back to float32",
    }
    (DEMO_DIR / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps(manifest, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
