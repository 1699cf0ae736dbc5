#!/usr/bin/env python3
"""Render synthetic training speech with espeak-ng + sox: 48 kHz mono 16-bit wav files.

The sentences and most voices differ from the demo evaluation corpus (which uses en-us and en-us+f3
with its own sentences), so demo weights trained on this material are not evaluated on training data.

    python scripts/make_training_speech.py --out data/train_speech            # 8 voices x 40 sentences
    python scripts/make_training_speech.py --out data/heldout --split heldout  # 6 held-out sentences
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

VOICES = ["en-gb", "en-us+m3", "en-gb+f2", "en-us+f4", "en-sc", "en-gb+m5", "en-us+m7", "en-gb-x-rp+f1"]
HELDOUT_VOICES = ["en-us", "en-us+f3", "en-gb+f4"]

SUBJECTS = [
    "The old lighthouse keeper",
    "A curious otter",
    "My neighbour's cousin",
    "The night train",
    "Every small garden",
    "The violin teacher",
    "A patient engineer",
    "The bakery on the corner",
    "Our football captain",
    "The river pilot",
]
ACTIONS = [
    "quietly repaired the copper kettle",
    "counted seventeen purple umbrellas",
    "whistled a cheerful tune at dawn",
    "forgot the keys beside the window",
    "painted the fence a pale shade of green",
    "measured the distance to the harbour",
]
ENDINGS = [
    "before the storm arrived.",
    "while the market was closing.",
    "after a very long winter.",
    "and nobody noticed at all.",
    "during the thirty-second minute.",
    "with remarkable precision.",
]

HELDOUT = [
    "Frozen raspberries taste wonderful on a humid August afternoon.",
    "Please forward the quarterly invoices to the accounting office by Thursday.",
    "Seven brave sailors crossed the choppy bay in a wooden dinghy.",
    "Zebras and giraffes gathered near the muddy watering hole.",
    "He adjusted the telescope and pointed it toward the distant comet.",
    "Would you rather visit Lisbon, Oslo or Montreal next spring?",
]


def training_sentences(n: int) -> list[str]:
    """``n`` distinct sentences combined from the fixed phrase lists (deterministic)."""
    out = []
    for i in range(n):
        s = SUBJECTS[i % len(SUBJECTS)]
        a = ACTIONS[(i * 7 + i // len(SUBJECTS)) % len(ACTIONS)]
        e = ENDINGS[(i * 5 + 3 * (i // len(ACTIONS))) % len(ENDINGS)]
        out.append(f"{s} {a} {e}")
    return out


def render(text: str, voice: str, speed: int, out: Path) -> None:
    """espeak-ng (22.05 kHz) -> sox (48 kHz, mono, 16 bit, 2 dB quieter to avoid clipping)."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
        cmd = [
            "sox",
            "-V1",
            str(raw),
            "-r",
            "48000",
            "-c",
            "1",
            "-b",
            "16",
            str(out),
            "gain",
            "-2",
            "rate",
            "-v",
        ]
        subprocess.run(cmd, check=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="output folder of wav files")
    p.add_argument("--split", choices=["train", "heldout"], default="train")
    p.add_argument("--sentences", type=int, default=40, help="sentences per voice (train split)")
    args = p.parse_args(argv)
    for tool in ("espeak-ng", "sox"):
        if not shutil.which(tool):
            print(f"error: {tool} not found (apt-get install espeak-ng sox)", file=sys.stderr)
            return 1
    args.out.mkdir(parents=True, exist_ok=True)
    if args.split == "train":
        pool = training_sentences(2 * args.sentences)
        jobs = [
            (v, pool[(5 * vi + i) % len(pool)], 140 + 10 * ((i + vi) % 4))
            for vi, v in enumerate(VOICES)
            for i in range(args.sentences)
        ]
        voices = VOICES
    else:
        jobs = [(v, s, 150) for v in HELDOUT_VOICES for s in HELDOUT]
        voices = HELDOUT_VOICES
    for n, (voice, text, speed) in enumerate(jobs):
        name = f"{voice.replace('+', '_')}_{n:04d}.wav"
        render(text, voice, speed, args.out / name)
    print(f"wrote {len(jobs)} files ({len(voices)} voices) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
