"""The ``bench`` command line. Thin: each subcommand lives in its own module, imported on use.

A subcommand module exposes ``HELP: str``, ``add_arguments(parser)`` and ``main(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading

from bench.errors import DiskFull, UsageError

#: subcommand -> module. Modules are imported only when their subcommand runs (or for --help).
COMMANDS: dict[str, str] = {
    "run": "bench.commands.run",
    "systems": "bench.commands.systems",
    "metrics": "bench.commands.metrics",
    "train": "bench.commands.train",
    "report": "reports.cli",
    "listen": "listening_test.cli",
    "merge": "bench.commands.merge",
    "reproduce": "bench.commands.reproduce",
    "download": "bench.commands.download",
    "weights": "bench.commands.weights",
}

EPILOG = """examples:
  bench run --systems all --data demo --out runs/demo
  bench run --systems natural,opus,files:mine=out/ --data vctk:/data/VCTK --split test --out runs/vctk
  bench run --systems natural,encodec@6k,dac_44k@8k --data vctk --out runs/vctk   # fetches what it needs
  bench systems            # what can run here, and what to install for the rest
  bench weights            # downloadable weights and corpora: cached, missing, checksums, licences
  bench metrics            # every metric with its library, rate and direction
  bench report runs/demo   # tables, plots, index.html and the demo page
  bench listen build runs/demo --type mushra --out listen/mushra
"""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only``, the subcommand modules other than that one are not imported (their
    help is not needed), so ``bench systems`` does not pay for importing the report or training code."""
    parser = argparse.ArgumentParser(
        prog="bench",
        description="Evaluate speech codecs: objective metrics, reports, listening tests.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from bench import __version__

    parser.add_argument("--version", action="version", version=f"codec-bench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        if only is not None and name != only:
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that part of the suite is not installed in this build
            raise
        p = sub.add_parser(
            name,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            epilog=getattr(module, "EPILOG", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script. Exit 2 on usage errors, with a message naming the argument.

    While it runs, a closed pipe ends the process quietly (`bench metrics | head`); the process's own
    SIGPIPE handling is restored on return, so calling ``main([...])`` from Python leaves it as it was
    (Python ignores SIGPIPE: a write to a closed socket in another thread raises, it does not kill)."""
    restore = None
    if hasattr(signal, "SIGPIPE") and threading.current_thread() is threading.main_thread():
        restore = signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        return _main(argv)
    finally:
        if restore is not None:
            signal.signal(signal.SIGPIPE, restore)


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(first if first in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help()
        return 2
    if args.command in argv:  # the subcommand's own arguments, for commands that re-parse (--config)
        args._argv = argv[argv.index(args.command) + 1:]
    try:
        return int(args._module.main(args) or 0)
    except UsageError as exc:
        print(f"bench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except DiskFull as exc:
        print(f"bench {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: results so far are kept; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
