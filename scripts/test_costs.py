#!/usr/bin/env python3
"""Refresh ``tests/file_costs.json``, the seconds each test file takes, from pytest's ``--durations=0`` output.

``make test`` hands the heaviest files to the pytest-xdist workers first (see ``tests/conftest.py``), so that
the run does not end with one worker busy on a long file while the other idles. Refresh the table after adding
a slow test file::

    .venv/bin/python -m pytest -m "not slow" -n auto --dist loadfile --durations=0 -q > durations.txt
    .venv/bin/python scripts/test_costs.py durations.txt
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

TABLE = Path(__file__).resolve().parents[1] / "tests" / "file_costs.json"
LINE = re.compile(r"^(\d+(?:\.\d+)?)s\s+(?:setup|call|teardown)\s+(tests/[^:\s]+\.py)::")


def file_costs(text: str) -> dict[str, float]:
    """Seconds per test file (setup, call and teardown of its tests), heaviest first."""
    costs: dict[str, float] = defaultdict(float)
    for line in text.splitlines():
        if m := LINE.match(line.strip()):
            costs[m.group(2)] += float(m.group(1))
    return {f: round(c, 1) for f, c in sorted(costs.items(), key=lambda kv: (-kv[1], kv[0]))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("durations", type=Path, help="pytest output with --durations=0")
    ap.add_argument("--out", type=Path, default=TABLE, help=f"table to write (default: {TABLE})")
    args = ap.parse_args()
    costs = file_costs(args.durations.read_text())
    if not costs:
        raise SystemExit(f"{args.durations}: no '--durations=0' lines found (run pytest with --durations=0)")
    args.out.write_text(json.dumps(costs, indent=1) + "\n")
    print(f"{args.out}: {len(costs)} files, {sum(costs.values()):.0f} s in all")


if __name__ == "__main__":
    main()
