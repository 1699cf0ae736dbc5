"""``bench systems``: every registered system, whether it can run here, and why not.

The list comes first, from the registries' metadata (nothing imported); then each system is imported
and checked, one line as each check finishes (``--no-check`` stops after the list).
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "list systems, whether each can run here, and what to install for the rest"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights", type=Path, help="folder of official weights to check against (AudioDec exp/, EnCodec, DAC files)")
    p.add_argument("--no-check", dest="check", action="store_false",
                   help="only list the systems (instant); do not import them to check whether they can run")


def main(args: argparse.Namespace) -> int:
    from systems import registered_summaries

    listed = registered_summaries()
    width = max(len(name) for name, _ in listed)
    for name, summary in listed:
        print(f"{name:<{width}}  {summary}")
    print("\nalso: files:NAME=DIR (outputs made elsewhere); SYSTEM+spf (post-filter after any system)")
    if not args.check:
        print("(checks skipped: run `bench systems` to see which can run here)")
        return 0
    print(f"\nchecking each system here (pending: {len(listed)}) ...", flush=True)
    from systems import SystemOptions, iter_system_checks

    for r in iter_system_checks(SystemOptions(weights_dir=args.weights)):
        status = "ok " if r.available else "n/a"
        kbps = f"{r.nominal_kbps:g} kbps" if r.nominal_kbps else ""
        print(f"{r.name:<{width}}  {status}  {kbps:<10} {r.description}", flush=True)
        if r.reason:
            print(f"{'':<{width}}       -> {r.reason}", flush=True)
    return 0
