"""``bench report RUN_DIR [RUN_DIR ...]``: tables, plots, index.html and the demo page of a run folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "write tables, plots, index.html and the demo page of a run (or compare several runs)"
DESCRIPTION = """Write the report of a run folder into RUN_DIR/report/ (or --out):
summary.md and summary.tex (mean ± 95% CI per system and metric, per speaker too), plots/ (PNG + PDF),
index.html (tables, plots, provenance, failures) and demo/index.html (audio players; self-contained).
With several RUN_DIRs, write a comparison report into --out."""
EPILOG = """examples:
  bench report runs/demo
  bench report runs/demo --panels "audiodec,symad,scoredec;opus,opus_spf" --utterance p232_005
  bench report runs/ckpt100k runs/ckpt200k --out reports/ckpt-compare
"""


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _pair(text: str) -> tuple[str, str]:
    parts = _csv(text)
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected two metrics X,Y, got {text!r}")
    return parts[0], parts[1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR", help="run folder(s) from bench run")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default RUN_DIR/report; required with several runs)")
    parser.add_argument("--utterance", default=None, help="utterance of the waveform figure (default: first demo one)")
    parser.add_argument("--window-ms", type=float, default=25.0, help="waveform figure window in ms (default 25)")
    parser.add_argument("--panels", default=None, metavar="A,B;C,D",
                        help="group systems into waveform panels (default: one panel per family, or all in one)")
    parser.add_argument("--demo-utterances", type=_csv, default=None, metavar="ID,ID",
                        help="utterances on the demo page (default: 2 per speaker, at most 6)")
    parser.add_argument("--demo-format", choices=("pcm16", "float"), default="pcm16",
                        help="WAV format of the demo page's audio copies (default pcm16)")
    parser.add_argument("--scatter", type=_pair, default=None, metavar="X,Y",
                        help="metrics of the scatter plot (default pesq_wb,si_sdr when present)")


def main(args: argparse.Namespace) -> int:
    from reports.build import build_report

    index = build_report(args.run_dirs, args.out, utterance=args.utterance, window_ms=args.window_ms,
                         panels=args.panels, demo_utterances=args.demo_utterances, demo_format=args.demo_format,
                         scatter=args.scatter)
    print(f"report: {index}", file=sys.stderr)
    return 0
