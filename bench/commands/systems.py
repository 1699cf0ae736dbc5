"""``bench systems [NAME]``: every registered system, whether it can run here; or one system's options.

The list comes first, from the registries' metadata (nothing imported); then each system is imported
and checked, one line as each check finishes (``--no-check`` stops after the list).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.errors import UsageError

HELP = "list systems, whether each can run here, and what to install for the rest; NAME: its options"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="a system (or composite): print its options and spec examples")
    p.add_argument("--weights", type=Path, help="folder of official weights to check against (AudioDec exp/, EnCodec, DAC files)")
    p.add_argument("--no-check", dest="check", action="store_false",
                   help="only list the systems (instant); do not import them to check whether they can run")
    from bench.commands.download import add_download_arguments

    add_download_arguments(p)


def main(args: argparse.Namespace) -> int:
    from bench.commands.download import apply_download_arguments
    from systems import RunSettings, iter_system_checks, registered_summaries

    apply_download_arguments(args)
    settings = RunSettings(weights_dir=args.weights)
    if args.name:
        return _one(args.name, settings)
    listed = registered_summaries()
    width = max(len(name) for name, _ in listed)
    for name, summary in listed:
        print(f"{name:<{width}}  {summary}")
    print("\nalso: files:NAME=DIR (outputs made elsewhere); SYSTEM+spf (post-filter after any system);\n"
          "      options: opus@12k, opus[kbps=12,application=voip]; `bench systems NAME` lists a system's options")
    if not args.check:
        print("(checks skipped: run `bench systems` to see which can run here)")
        return 0
    print(f"\nchecking each system here (pending: {len(listed)}) ...", flush=True)
    for r in iter_system_checks(settings):
        status = "ok " if r.available else "n/a"
        kbps = f"{r.nominal_kbps:g} kbps" if r.nominal_kbps else ""
        print(f"{r.name:<{width}}  {status}  {kbps:<10} {r.description}", flush=True)
        if r.reason:
            print(f"{'':<{width}}       -> {r.reason}", flush=True)
        if r.downloads:
            print(f"{'':<{width}}       -> {r.downloads}", flush=True)
    return 0


def _one(name: str, settings) -> int:
    from bench.registry import RegistryError
    from systems import POSTFILTERS, SYSTEMS, describe_system
    from systems.options import describe_options

    if any(c in name for c in "@[+:") and name not in SYSTEMS.names():
        return _spec(name, settings)
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
    if info.downloads:
        print(f"  {info.downloads}")
    for kind, options in stages:
        cls = SYSTEMS.get(kind) if kind == stages[0][0] else POSTFILTERS.get(kind)
        _print_options(kind, cls.shorthand, options)
    return 0


def _spec(spec: str, settings) -> int:
    """A full spec (``opus@12k``, ``opus[application=voip]+spf[steps=4]``): build it and print every stage's
    effective options, i.e. what ``bench run --systems SPEC`` would run."""
    from bench.registry import RegistryError
    from systems import SystemUnavailable, build_system
    from systems.base import ComposedSystem
    from systems.options import options_dict

    try:
        system = build_system(spec, settings)
    except SystemUnavailable as exc:
        print(f"{spec}\n  cannot run here: {exc}")
        return 1
    except (RegistryError, ValueError) as exc:  # OptionError is a ValueError
        raise UsageError(f"{spec}: {exc}") from None
    stages = [system.codec, *system.postfilters] if isinstance(system, ComposedSystem) else [system]
    kbps = f", {system.nominal_kbps:g} kbps nominal" if system.nominal_kbps else ""
    print(f"{system.name}  {system.description}{kbps}\n  can run here")
    for stage in stages:
        values = ", ".join(f"{k}={'none' if v is None else v}" for k, v in options_dict(stage.options).items())
        values = values or "no options"
        print(f"  {stage.kind}: {values}")
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
