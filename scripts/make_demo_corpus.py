#!/usr/bin/env python3
"""Generate the built-in demo evaluation corpus (bench/data/demo/) with espeak-ng and sox.

Synthetic, deterministic, band-limited speech (espeak-ng renders at 22.05 kHz, so content stops near
10.6 kHz), resampled to 48 kHz mono 16-bit and stored as FLAC. Two voices: a male (en-us) and a female
(en-us+f3), five sentences each, 3-6 s. A seeded Gaussian noise floor at -70 dBFS (RMS) is added, as a
microphone would have: digital silence is unlike any recording (and makes VBR codecs such as Opus spend
fewer bits than on real speech). Training data for the demo weights must use other sentences.

Usage: python scripts/make_demo_corpus.py [--out bench/data/demo]
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

VOICES = {"demo_m": ("en-us", "male"), "demo_f": ("en-us+f3", "female")}
SENTENCES = [
    "The quick brown fox jumps over the lazy dog near the quiet river bank.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "A codec compresses speech into a few bits and restores it at the other end.",
    "Six spoons of fresh snow peas and five thick slabs of blue cheese.",
    "We also need a small plastic snake and a big toy frog for the kids.",
]


NOISE_FLOOR_DBFS = -70.0


def render(voice: str, text: str, out: Path, seed: int, speed: int = 150) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
        wav = Path(tmp) / "out.wav"
        # resample (very high quality), then pad 0.2 s of silence at both ends
        subprocess.run(["sox", str(raw), "-r", "48000", "-c", "1", "-b", "16", str(wav), "rate", "-v",
                        "pad", "0.2", "0.2", "gain", "-n", "-3"], check=True)
        data, sr = sf.read(wav, dtype="float64")
        noise = np.random.default_rng(seed).normal(0.0, 10 ** (NOISE_FLOOR_DBFS / 20), len(data))
        pcm = np.clip(np.round((data + noise) * 32767), -32768, 32767).astype(np.int16)
        sf.write(out, pcm, sr, format="FLAC", subtype="PCM_16")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "bench/data/demo")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for speaker, (voice, gender) in VOICES.items():
        for i, text in enumerate(SENTENCES, start=1):
            utt = f"{speaker}_{i:03d}"
            path = args.out / f"{utt}.flac"
            render(voice, text, path, seed=len(rows))
            info = sf.info(path)
            rows.append({"id": utt, "path": path.name, "speaker": speaker, "gender": gender, "text": text})
            print(f"{utt}: {info.duration:.2f} s")
    with open(args.out / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["id", "path", "speaker", "gender", "text"])
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
