"""Command options from a mapping: a YAML file (``bench run --config``) or the Python API's keywords.

Keys are the options' destinations as ``bench run --help`` names them, with ``_`` or ``-``
(``max_lag_ms`` or ``max-lag-ms``; ``align: false`` for ``--no-align``). Values are checked by the same
argparse types and choices as the command line; lists are accepted where the flag takes a
comma-separated list (``systems: [opus, natural]``) and mappings for repeatable ``NAME=PATH`` flags
(``checkpoint: {symad: ckpt.pt}``). Unknown keys are errors with suggestions.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from bench.errors import UsageError

#: options about the configuration itself, never part of it
META_OPTIONS = ("help", "config", "print_config")


def option_actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Destination -> action for every option of ``parser`` that a configuration may set (when two flags
    share a destination, e.g. ``--align MODE`` and ``--no-align``, the one that takes a value)."""
    out: dict[str, argparse.Action] = {}
    for a in parser._actions:
        if a.dest in META_OPTIONS or not a.option_strings:
            continue
        if a.dest not in out or (out[a.dest].nargs == 0 and a.nargs != 0):
            out[a.dest] = a
    return out


def load_yaml(path: str | Path, flag: str = "--config") -> dict[str, Any]:
    """A YAML mapping from ``path`` (given with ``flag``); UsageError naming the flag and file for anything else."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{flag} {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{flag} {path}: not valid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{flag} {path}: expected a mapping of option: value, got {type(data).__name__}")
    return data


def _is_flag(action: argparse.Action) -> bool:
    return isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction))


def _convert(action: argparse.Action, key: str, value: Any, source: str) -> Any:
    """One value checked and converted as argparse would convert the flag's text."""
    where = f"{source}: {key}"
    if value is None:
        return None
    if _is_flag(action):
        if not isinstance(value, bool):
            raise UsageError(f"{where}: expected true or false, got {value!r}")
        return value
    if isinstance(action, argparse._AppendAction):
        items = [f"{k}={v}" for k, v in value.items()] if isinstance(value, dict) else value
        if not isinstance(items, list):
            items = [items]
        return [_convert_one(action, where, item) for item in items]
    if isinstance(value, (list, tuple)):
        if action.type not in (None, str):
            raise UsageError(f"{where}: expected one value, got a list")
        value = ",".join(str(v) for v in value)
    return _convert_one(action, where, value)


def _convert_one(action: argparse.Action, where: str, value: Any) -> Any:
    if isinstance(value, (bool, dict, list)):
        raise UsageError(f"{where}: expected a single value, got {value!r}")
    text = value if isinstance(value, str) else str(value)
    try:
        out = action.type(text) if action.type else text
    except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
        raise UsageError(f"{where}: {exc}") from None
    if action.choices is not None and out not in action.choices:
        raise UsageError(f"{where}: {out!r} is not one of {', '.join(map(str, action.choices))}")
    return out


def option_key(raw_key: object, known: Iterable[str], source: str) -> str:
    """``raw_key`` as an option name (``max-lag-ms`` -> ``max_lag_ms``); UsageError naming ``source`` and the
    closest known names when it is none of ``known``."""
    key, known = str(raw_key).replace("-", "_"), list(known)
    if key not in known:
        close = difflib.get_close_matches(key, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(known))}"
        raise UsageError(f"{source}: unknown option {raw_key!r}{hint}")
    return key


def apply_mapping(parser: argparse.ArgumentParser, mapping: dict[str, Any], source: str) -> None:
    """Make ``mapping``'s values the parser's defaults (flags given later on the command line override)."""
    actions = option_actions(parser)
    defaults: dict[str, Any] = {}
    for raw_key, value in mapping.items():
        key = option_key(raw_key, actions, source)
        defaults[key] = _convert(actions[key], str(raw_key), value, source)
        actions[key].required = False
    parser.set_defaults(**defaults)


def to_yaml(options: dict[str, Any]) -> str:
    """``options`` as YAML, in the command's option order, ready for ``--config``."""
    return yaml.safe_dump(options, sort_keys=False, default_flow_style=False)
