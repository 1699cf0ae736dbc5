"""``bench systems [NAME]``: every registered system, whether it can run here; or one system's options."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.errors import UsageError

HELP = "list systems, whether each can run here, and what to install for the rest; NAME: its options"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="a system (or composite): print its options and spec examples")
    p.add_argument("--weights", type=Path, help="folder of official weights to check against (AudioDec exp/, EnCodec, DAC files)")


def main(args: argparse.Namespace) -> int:
    from systems import COMPOSITES, RunSettings, describe_systems

    settings = RunSettings(weights_dir=args.weights)
    if args.name:
        return _one(args.name, settings)
    rows = describe_systems(settings)
    width = max(len(r.name) for r in rows)
    for r in rows:
        status = "ok " if r.available else "n/a"
        kbps = f"{r.nominal_kbps:g} kbps" if r.nominal_kbps else ""
        comp = f" (= {COMPOSITES[r.name]})" if r.name in COMPOSITES else ""
        print(f"{r.name:<{width}}  {status}  {kbps:<10} {r.description}{comp}")
        if r.reason:
            print(f"{'':<{width}}       -> {r.reason}")
    print("\nalso: files:NAME=DIR (outputs made elsewhere); SYSTEM+spf (post-filter after any system);\n"
          "      options: opus@12k, opus[kbps=12,application=voip]; `bench systems NAME` lists a system's options")
    return 0


def _one(name: str, settings) -> int:
    from bench.registry import RegistryError
    from systems import POSTFILTERS, SYSTEMS, describe_system
    from systems.options import describe_options

    try:
        if name in POSTFILTERS and name not in SYSTEMS:
            cls = POSTFILTERS.get(name)
            print(f"{name}  (post-filter)  {cls.description}")
            _print_options(name, cls.shorthand, describe_options(cls.Options))
            print(f"\nuse it after any system: opus+{name}")
            return 0
        info, stages = describe_system(name, settings)
    except RegistryError as exc:
        raise UsageError(str(exc)) from None
    status = "can run here" if info.available else f"cannot run here: {info.reason}"
    print(f"{info.name}  {info.description}\n  {status}")
    for kind, options in stages:
        cls = SYSTEMS.get(kind) if kind == stages[0][0] else POSTFILTERS.get(kind)
        _print_options(kind, cls.shorthand, options)
    return 0


def _print_options(kind: str, shorthand: str | None, options) -> None:
    if not options:
        print(f"\n{kind}: no options")
        return
    print(f"\n{kind} options:")
    width = max(len(o.name) for o in options)
    for o in options:
        unit = f" {o.unit}" if o.unit else ""
        default = "none" if o.default is None else f"{o.default:g}" if isinstance(o.default, float) else o.default
        limits = f"; one of {', '.join(map(str, o.choices))}" if o.choices else (f"; {o.range}{unit}" if o.range
                                                                                    else "")
        print(f"  {o.name:<{width}}  {o.type}, default {default}{unit if o.default is not None else ''}{limits}")
        print(f"  {'':<{width}}  {o.help}")
    first = options[0]
    example = f"{kind}[{first.name}=...]"
    if shorthand:
        example = f"{kind}@VALUE (sets {shorthand}), " + example
    print(f"  spec: {example}")
