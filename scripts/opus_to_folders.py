#!/usr/bin/env python3
"""Write Opus outputs of a corpus to one folder per bitrate, as a codec of your own would: a stand-in
for the README's "Compare your codec" example.

Each folder gets ``ID.wav`` (48 kHz float, the input's length) per utterance and ``bitrates.csv`` with
the bits each utterance's packets took (``id,bits``), the format ``files:NAME=DIR`` reads. Evaluate with
``bench run --systems files:toy@6k=OUT/6k,files:toy@12k=OUT/12k,files:toy@24k=OUT/24k ...``.

Usage: python scripts/opus_to_folders.py --data demo --out toy_outputs [--kbps 6,12,24]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import soundfile as sf

from bench.audio import load_input
from bench.corpora import open_corpus
from systems import RunSettings, build_system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="demo", help="corpus, as bench run --data (default: demo)")
    ap.add_argument("--out", type=Path, required=True, help="folder for one sub-folder per bitrate")
    ap.add_argument("--kbps", default="6,12,24", help="comma-separated bitrates (default: 6,12,24)")
    args = ap.parse_args()
    utterances = open_corpus(args.data).utterances()
    for kbps in args.kbps.split(","):
        codec = build_system(f"opus@{kbps}k", RunSettings())
        folder = args.out / f"{kbps}k"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "bitrates.csv", "w", newline="") as f:
            table = csv.writer(f)
            table.writerow(["id", "bits"])
            for u in utterances:
                out = codec.process(load_input(u.path).audio, utterance_id=u.id)
                sf.write(folder / f"{u.id}.wav", out.audio, codec.sample_rate, subtype="FLOAT")
                table.writerow([u.id, int(out.bits)])
        print(f"{folder}: {len(utterances)} outputs at {kbps} kbps")


if __name__ == "__main__":
    main()
