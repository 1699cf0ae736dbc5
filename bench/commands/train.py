"""``bench train KIND``: training recipes for the neural parts. Each recipe is its own module."""

from __future__ import annotations

import argparse
import importlib

HELP = "train a neural part (autoencoder, autoencoder-gan, vocoder, spf)"

#: recipe -> module exposing HELP, add_arguments(parser), main(args) -> int
TRAINERS: dict[str, str] = {
    "autoencoder": "systems.audiodec.train_cli",
    "autoencoder-gan": "systems.audiodec.train_cli",
    "vocoder": "systems.audiodec.train_cli",
    "spf": "systems.spf.train_cli",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="recipe", metavar="RECIPE", required=True)
    for name, module_name in TRAINERS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        p = sub.add_parser(name, help=module.recipe_help(name), formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p, name)
        p.set_defaults(_recipe_module=module)


def main(args: argparse.Namespace) -> int:
    return int(args._recipe_module.main(args) or 0)
