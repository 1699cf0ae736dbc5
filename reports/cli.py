"""``bench report RUN_DIR [RUN_DIR ...]``: tables, plots, index.html and the demo page of a run folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from reports.options import (
    DEFAULT_REPORT_METRICS,
    LATEX_ENVIRONMENTS,
    DemoOptions,
    check_link,
    load_config,
    parse_link,
)

HELP = "write tables, plots, index.html and the demo page of a run (or compare several runs)"
DESCRIPTION = """Write the report of a run folder into RUN_DIR/report/ (or --out):
summary.md and summary.tex (mean ± 95% CI per system and metric, per speaker too), plots/ (PNG + PDF),
index.html (tables, plots, provenance, failures) and demo/index.html (audio players; self-contained).
With several RUN_DIRs, write a comparison report into --out."""
EPILOG = """examples:
  bench report runs/demo
  bench report runs/demo --report-metrics pesq_wb,stoi,si_sdr --latex-table table
  bench report runs/demo --panels "audiodec,symad,scoredec;opus,opus_spf" --utterance p232_005
  bench report runs/demo --demo-systems opus,symad,scoredec --demo-title "ScoreDec samples" \\
      --demo-link "Paper=https://arxiv.org/abs/..." --demo-config demo.yaml
  bench report runs/ckpt100k runs/ckpt200k --out reports/ckpt-compare

demo config file (YAML; every key optional, the command line wins):
  title: ScoreDec audio samples
  intro: |
    Speech coded at 24 kbps ...
  links: [{text: Paper, url: "https://..."}, {text: Code, url: "https://..."}]
  systems: [opus, symad, scoredec]
  utterances: [p232_005, p257_010]
  metrics: [pesq_wb, si_sdr]
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
    parser.add_argument("--scatter", type=_pair, default=None, metavar="X,Y",
                        help="metrics of the scatter plot (default pesq_wb,si_sdr when present)")
    parser.add_argument("--report-metrics", type=_csv, default=None, metavar="M,M",
                        help="metrics of the summary table, the summary paragraph and summary.tex (default: "
                             f"those of {','.join(DEFAULT_REPORT_METRICS)} the run has); index.html also has "
                             "the table of every metric")
    parser.add_argument("--latex-table", choices=LATEX_ENVIRONMENTS, default="table*",
                        help="summary.tex environment: table* spans both columns of a two-column paper, "
                             "table fits one column with two metrics (default: table*)")
    demo = parser.add_argument_group("demo page")
    demo.add_argument("--demo-config", type=Path, default=None, metavar="FILE.yaml",
                      help="title, intro, links, systems, utterances, metrics of the demo page (see below)")
    demo.add_argument("--demo-utterances", type=_csv, default=None, metavar="ID,ID",
                      help="utterances on the demo page (default: 2 per speaker, at most 6)")
    demo.add_argument("--demo-systems", type=_csv, default=None, metavar="S,S",
                      help="systems on the demo page after the reference (default: all but natural and the anchors)")
    demo.add_argument("--demo-metrics", type=_csv, default=None, metavar="M,M",
                      help="per-utterance metrics next to each player (default pesq_wb,si_sdr; bitrate always)")
    demo.add_argument("--demo-title", default=None, help="title of the demo page")
    demo.add_argument("--demo-intro", default=None, help="introduction paragraph of the demo page")
    demo.add_argument("--demo-link", action="append", default=None, metavar="TEXT=URL",
                      help="a link under the introduction (repeatable), e.g. Paper=https://...")
    demo.add_argument("--demo-format", choices=("pcm16", "float"), default=None,
                      help="WAV format of the demo page's audio copies (default pcm16)")


def demo_options(args: argparse.Namespace) -> DemoOptions:
    """The demo page's options: the config file's, overridden by the command line."""
    fields: dict[str, Any] = load_config(args.demo_config) if args.demo_config else {}
    for key, value in (("utterances", args.demo_utterances), ("systems", args.demo_systems),
                       ("metrics", args.demo_metrics), ("title", args.demo_title), ("intro", args.demo_intro),
                       ("format", args.demo_format)):
        if value is not None:
            fields[key] = tuple(value) if isinstance(value, list) else value
    if args.demo_link is not None:
        fields["links"] = tuple(parse_link(t) for t in args.demo_link)
    for label, url in fields.get("links", ()):
        check_link(label, url)
    return DemoOptions(**fields)


def main(args: argparse.Namespace) -> int:
    from reports.build import build_report

    index = build_report(args.run_dirs, args.out, utterance=args.utterance, window_ms=args.window_ms,
                         panels=args.panels, scatter=args.scatter, report_metrics=args.report_metrics,
                         latex_environment=args.latex_table, demo=demo_options(args))
    print(f"report: {index}", file=sys.stderr)
    return 0
