"""``bench merge``: join shard outputs (``bench run --shard I/N``) into one run folder."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "join run folders (e.g. --shard parts) into one run folder"
DESCRIPTION = """Join run folders into one: results.jsonl/csv, summary.csv, reference/, audio/ and run.json
(the union of corpus items; config.merged_from lists the parts).

Refuses parts whose value-changing settings differ (data, corpus, align, max_lag_ms, downmix, system
options), parts that are not complete, and parts that overlap inconsistently (the same row with
different values, the same utterance with a different input). Each part is checked against its own
run.json: rows it plans but lacks (--allow-partial merges them into a folder marked partial), missing
reference or output files, ids that cannot be file names, symbolic links, rows given twice with different
values; parts that ran different --systems or --metrics need --allow-mixed."""
EPILOG = """example:
  bench run --systems opus --data demo --shard 1/2 --out runs/part1
  bench run --systems opus --data demo --shard 2/2 --out runs/part2
  bench merge runs/part1 runs/part2 --out runs/all

exit status: 0 merged, 2 refused (the message names the setting or item)
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", type=Path, metavar="DIR", help="run folders to join")
    p.add_argument("--out", required=True, type=Path, help="new run folder to write")
    p.add_argument("--quiet", action="store_true", help="no summary output")
    p.add_argument("--allow-partial", action="store_true",
                   help="merge parts that lack rows of their own plan; the merged run.json is partial and lists them")
    p.add_argument("--allow-mixed", action="store_true", help="merge parts that ran different systems or metrics")


def main(args: argparse.Namespace) -> int:
    from bench.merge import merge_runs

    merge_runs(list(args.runs), args.out, quiet=args.quiet, allow_partial=args.allow_partial,
               allow_mixed=args.allow_mixed)
    return 0
