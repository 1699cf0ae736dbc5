"""``bench systems``: every registered system, whether it can run here, and why not."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "list systems, whether each can run here, and what to install for the rest"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights", type=Path, help="folder of official weights to check against (AudioDec exp/, EnCodec, DAC files)")


def main(args: argparse.Namespace) -> int:
    from systems import COMPOSITES, SystemOptions, describe_systems

    rows = describe_systems(SystemOptions(weights_dir=args.weights))
    width = max(len(r.name) for r in rows)
    for r in rows:
        status = "ok " if r.available else "n/a"
        kbps = f"{r.nominal_kbps:g} kbps" if r.nominal_kbps else ""
        comp = f" (= {COMPOSITES[r.name]})" if r.name in COMPOSITES else ""
        print(f"{r.name:<{width}}  {status}  {kbps:<10} {r.description}{comp}")
        if r.reason:
            print(f"{'':<{width}}       -> {r.reason}")
    print("\nalso: files:NAME=DIR (outputs made elsewhere); SYSTEM+spf (post-filter after any system)")
    return 0
