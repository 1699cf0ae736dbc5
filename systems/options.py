"""Per-system options: declared once next to each system, parsed from its ``--systems`` spec.

A system (or post-filter) declares its options as a dataclass whose fields are made with :func:`option`
(default, unit, help, choices, range). That single declaration gives:

- the spec grammar ``kind@VALUE`` (the class's ``shorthand`` option) and ``kind[key=value,...]``;
- validation with close-match suggestions (:func:`parse_options`);
- the listing of ``bench systems NAME`` (:func:`describe_options`);
- provenance (:func:`options_dict`) and the instance name used in every table (:func:`instance_name`).

Spec grammar inside the comma-separated ``--systems`` list (commas inside ``[...]`` do not split)::

    item   := stage ("+" stage)*                    e.g. opus@12k+spf[steps=8]
    stage  := kind [":" ARG] ["@" VALUE] ["[" key=value ("," key=value)* "]"]

``ARG`` is a system's positional argument (``files:mine=DIR``; ``files:mine@6k=DIR`` puts the value on
the label). ``VALUE`` sets the shorthand option (``kbps`` for codecs): ``12k``, ``12kbps`` and ``12`` all mean 12 kbit/s.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin


class OptionError(ValueError):
    """A spec or option that does not parse or validate; the message says what would."""


def option(default: Any, *, help: str, unit: str = "", choices: tuple[Any, ...] | None = None,
           min: float | None = None, max: float | None = None) -> Any:
    """A dataclass field for a system option (``kbps: float = option(24.0, unit="kbps", help=...)``).

    Args:
        default: the value when the spec does not set it (None: decided by the system, e.g. by its weights).
        help: one line for ``bench systems NAME``.
        unit: shown after values ("kbps", "steps"); ``kbps`` values also accept a ``k``/``kbps`` suffix.
        choices: the allowed values (strings), if limited.
        min, max: inclusive numeric range, if limited.
    """
    return dataclasses.field(default=default, metadata={"help": help, "unit": unit, "choices": choices,
                                                        "min": min, "max": max})


@dataclass(frozen=True)
class NoOptions:
    """The options of a system that has none."""


@dataclass(frozen=True)
class Stage:
    """One parsed ``kind[:arg][@value][[k=v,...]]`` part of a spec."""

    kind: str
    arg: str | None = None
    shorthand: str | None = None
    pairs: tuple[tuple[str, str], ...] = ()


def split_list(text: str) -> list[str]:
    """Split a ``--systems`` value at the commas outside ``[...]``; raises on unbalanced brackets."""
    items, depth, cur = [], 0, []
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0:
                raise OptionError(f"{text!r}: ']' without a matching '['")
        if ch == "," and depth == 0:
            items.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth:
        raise OptionError(f"{text!r}: '[' without a matching ']'")
    items.append("".join(cur))
    return [s.strip() for s in items if s.strip()]


def split_stages(spec: str) -> list[str]:
    """``"opus@12k+spf[steps=8]"`` -> ``["opus@12k", "spf[steps=8]"]`` (``+`` inside ``[...]`` kept)."""
    parts, depth, cur = [], 0, []
    for ch in spec:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "+" and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur).strip())
    return parts


def parse_stage(text: str) -> Stage:
    """Parse one stage. ``files:mine=DIR`` keeps everything after ``:`` as its argument."""
    text = text.strip()
    pairs: list[tuple[str, str]] = []
    if text.endswith("]") and "[" in text:
        head, _, body = text[:-1].partition("[")
        for kv in split_list(body):
            key, sep, value = kv.partition("=")
            if not sep or not key.strip():
                raise OptionError(f"{text!r}: expected key=value inside [...], got {kv!r}")
            pairs.append((key.strip(), value.strip()))
        text = head
    elif "[" in text or "]" in text:
        raise OptionError(f"{text!r}: options go last, as kind[key=value,...]")
    arg = None
    if ":" in text:
        text, _, arg = text.partition(":")
        if "@" in arg and "=" not in arg:
            arg, _, short = arg.partition("@")
            return Stage(text.strip(), arg, short.strip(), tuple(pairs))
        label, eq, rest = arg.partition("=")
        if eq and "@" in label:  # files:mine@6k=DIR: the value belongs to the stage, not to its label
            label, _, short = label.partition("@")
            if not short.strip():
                raise OptionError(f"{text}:{arg!r}: nothing after '@'")
            return Stage(text.strip(), f"{label}={rest}", short.strip(), tuple(pairs))
        return Stage(text.strip(), arg, None, tuple(pairs))
    kind, sep, short = text.partition("@")
    if sep and not short.strip():
        raise OptionError(f"{text!r}: nothing after '@'")
    return Stage(kind.strip(), None, short.strip() if sep else None, tuple(pairs))


def _fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _base_type(tp: Any) -> tuple[Any, bool]:
    """(underlying type, optional?) for ``int``, ``int | None``, ``Literal[...]``."""
    args = get_args(tp)
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else tp), True
    return tp, False


def convert(cls: type, key: str, text: str) -> Any:
    """Convert the string ``text`` to option ``key`` of ``cls`` and check it. Raises OptionError."""
    f = _fields(cls)[key]
    meta = f.metadata
    tp, optional = _base_type(_hints(cls)[key])
    raw = text.strip()
    if optional and raw.lower() in ("none", "auto", "default", ""):
        return None
    choices = meta.get("choices")
    if get_origin(tp) is Literal:
        choices = get_args(tp)
        tp = str
    if tp is bool:
        low = raw.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise OptionError(f"{key}: expected true or false, not {raw!r}")
    if tp in (int, float):
        num = raw
        if meta.get("unit") == "kbps":
            low = num.lower()
            for suffix in ("kbps", "kbit/s", "k"):
                if low.endswith(suffix):
                    num = num[: -len(suffix)]
                    break
        try:
            value: Any = float(num) if tp is float else int(num)
        except ValueError:
            raise OptionError(f"{key}: expected {'a number' if tp is float else 'an integer'}"
                              f"{' of ' + meta['unit'] if meta.get('unit') else ''}, not {raw!r}") from None
        lo, hi = meta.get("min"), meta.get("max")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            unit = f" {meta['unit']}" if meta.get("unit") else ""
            rng = f"{lo:g}-{hi:g}" if lo is not None and hi is not None else (f">= {lo:g}" if lo is not None
                                                                               else f"<= {hi:g}")
            raise OptionError(f"{key}={raw}: outside {rng}{unit}")
        if choices and value not in choices:
            raise OptionError(f"{key}={raw}: must be one of {', '.join(map(str, choices))}")
        return value
    value = raw
    if choices and value not in choices:
        close = difflib.get_close_matches(value, [str(c) for c in choices], n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise OptionError(f"{key}={raw}: must be one of {', '.join(map(str, choices))}{hint}")
    return value


def parse_options(cls: type, stage: Stage, shorthand: str | None, overrides: dict[str, Any] | None = None
                  ) -> tuple[Any, dict[str, Any]]:
    """Build the options of ``cls`` from a parsed stage.

    Args:
        cls: the options dataclass.
        stage: the parsed spec part.
        shorthand: the option that ``@VALUE`` sets (None: ``@`` is refused).
        overrides: defaults set elsewhere (deprecated flags), used where the spec sets nothing.
    Returns:
        (options instance, the options the spec set explicitly, converted).
    """
    fields = _fields(cls)
    explicit: dict[str, Any] = {}
    if stage.shorthand is not None:
        if shorthand is None:
            known = ", ".join(fields) or "none"
            raise OptionError(f"{stage.kind} has no @VALUE form; its options: {known}")
        explicit[shorthand] = convert(cls, shorthand, stage.shorthand)
    for key, text in stage.pairs:
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            known = ", ".join(fields) or "none"
            raise OptionError(f"{stage.kind} has no option {key!r}{hint} (options: {known})")
        if key in explicit:
            raise OptionError(f"{stage.kind}: option {key!r} is set twice")
        explicit[key] = convert(cls, key, text)
    defaults = {k: convert(cls, k, v) if isinstance(v, str) else v for k, v in (overrides or {}).items()
                if k in fields}
    values = {**defaults, **explicit}
    return cls(**values), explicit


def format_value(cls: type, key: str, value: Any) -> str:
    """How a value is written back into a spec (``12.0`` kbps -> ``12k``)."""
    f = _fields(cls)[key]
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = f"{value:g}"
        return text + "k" if f.metadata.get("unit") == "kbps" else text
    if isinstance(value, int) and f.metadata.get("unit") == "kbps":
        return f"{value}k"
    return str(value)


def instance_name(kind: str, cls: type, shorthand: str | None, explicit: dict[str, Any],
                  arg_label: str | None = None) -> str:
    """The canonical name of an instance: ``opus``, ``opus@12k``, ``opus@12k[application=voip]``.

    Only the options the spec set appear, in declaration order; the shorthand one after ``@``. Two specs
    that mean the same (``opus@12k``, ``opus[kbps=12]``) get the same name.
    """
    name = kind if arg_label is None else f"{kind}:{arg_label}"
    if shorthand is not None and shorthand in explicit:
        name += "@" + format_value(cls, shorthand, explicit[shorthand])
    rest = [f"{k}={format_value(cls, k, explicit[k])}" for k in _fields(cls) if k in explicit and k != shorthand]
    if rest:
        name += "[" + ",".join(rest) + "]"
    return name


def options_dict(opts: Any) -> dict[str, Any]:
    """JSON-friendly ``{option: value}`` for run.json."""
    return {f.name: getattr(opts, f.name) for f in dataclasses.fields(opts)}


@dataclass
class OptionInfo:
    """One option as ``bench systems NAME`` prints it."""

    name: str
    type: str
    default: Any
    unit: str
    help: str
    choices: tuple[Any, ...] | None
    range: str


def describe_options(cls: type) -> list[OptionInfo]:
    """Every option of ``cls`` with its type, default, unit, choices, range and help."""
    hints = _hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        tp, optional = _base_type(hints[f.name])
        choices = f.metadata.get("choices")
        if get_origin(tp) is Literal:
            choices, tname = get_args(tp), "str"
        else:
            tname = getattr(tp, "__name__", str(tp))
        if optional:
            tname += " or none"
        lo, hi = f.metadata.get("min"), f.metadata.get("max")
        rng = f"{lo:g}-{hi:g}" if lo is not None and hi is not None else ""
        out.append(OptionInfo(f.name, tname, f.default, f.metadata.get("unit", ""), f.metadata.get("help", ""),
                              choices, rng))
    return out


def diff_options(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``["kbps 24 -> 12"]``: only the options whose value differs."""
    keys = list(dict.fromkeys([*old, *new]))
    return [f"{k} {_short(old.get(k))} -> {_short(new.get(k))}" for k in keys if old.get(k) != new.get(k)]


def _short(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)
