"""The typed options of a run, built from the command line (``bench run``) or from Python keywords (``bench.run``).

:class:`RunOptions` holds every ``bench run`` option under its flag's name (``max_lag_ms`` for
``--max-lag-ms``), as the command line gives it: comma-separated lists stay text, paths are ``Path``.
:meth:`RunOptions.from_namespace` takes the parsed command line; :meth:`RunOptions.from_keywords` takes a
mapping (the Python API's keywords, over ``config=FILE.yaml``), checking each key and value as the command
line would, without argparse. Either way :func:`execute` checks the values, builds the runner's
:class:`~bench.runner.RunConfig` and runs it; ``options()`` is what run.json records and ``--print-config``
prints.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from bench.alignment import ALIGN_MODES
from bench.config_file import option_key
from bench.errors import UsageError
from bench.runfolder.wav import RUN_RATES

#: deprecated flag -> (system or post-filter kind, option, how the flag value becomes the option value, new form)
DEPRECATED_FLAGS = {
    "opus_bitrate": ("opus", "kbps", lambda v: f"{v / 1000:g}", lambda v: f"--systems opus@{v / 1000:g}k"),
    "opus_application": ("opus", "application", str, lambda v: f"--systems opus[application={v}]"),
    "spf_sampler": ("spf", "sampler", str, lambda v: f"--systems CODEC+spf[sampler={v}]"),
    "spf_steps": ("spf", "steps", str, lambda v: f"--systems CODEC+spf[steps={v}]"),
}


def _choices(*values: Any) -> dict[str, Any]:
    return {"choices": tuple(values)}


#: metadata of options whose values are comma-separated lists (a list is accepted from Python or YAML)
_LIST = {"list": True}


@dataclass
class RunOptions:
    """Every ``bench run`` option, in ``bench run --help`` order; defaults as there (a test keeps them equal).

    ``checkpoint`` holds ``(name, path)`` pairs; the other fields hold what the flag gives.
    """

    systems: str | None = field(default=None, metadata=_LIST)
    data: str | None = None
    out: Path | None = None
    metrics: str = field(default="default", metadata=_LIST)
    limit: int | None = None
    workers: int | None = None
    executor: str = "local"
    ray_address: str | None = None
    shard: str | None = None
    device: str = "cpu"
    batch_size: int = 4
    amp: bool = False
    align: str = field(default="system", metadata=_choices(*ALIGN_MODES))
    max_lag_ms: float = 20.0
    strict: bool = False
    downmix: bool = False
    sample_rate: int = field(default=48000, metadata=_choices(*RUN_RATES))
    split: str = field(default="test", metadata=_choices("test", "all"))
    speakers: str = field(default="", metadata=_LIST)
    mic: str = field(default="mic1", metadata=_choices("mic1", "mic2"))
    weights: Path | None = None
    checkpoint: list[tuple[str, Path]] = field(default_factory=list)
    streaming: bool = False
    seed: int = 0
    opus_bitrate: int | None = None
    opus_application: str | None = field(default=None, metadata=_choices("audio", "voip", "lowdelay"))
    spf_sampler: str | None = field(default=None, metadata=_choices("pc", "ode", "sde"))
    spf_steps: int | None = None
    offline: bool = False
    cache_dir: Path | None = None
    mirror: str | None = None
    report: bool = True
    overwrite: bool = False
    quiet: bool = False

    @classmethod
    def from_namespace(cls, args: Any) -> RunOptions:
        """From the parsed ``bench run`` command line (an ``argparse.Namespace``)."""
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)})

    @classmethod
    def from_keywords(cls, keywords: dict[str, Any], source: str = "options") -> RunOptions:
        """From a mapping of option -> value (``max_lag_ms`` or ``max-lag-ms``), over ``config`` (a YAML file
        of the same keys) when given; each value is checked and converted as its flag's text would be.

        Raises:
            UsageError: an unknown option (with suggestions) or a bad value, naming ``source``.
        """
        keywords = dict(keywords)
        config = keywords.pop("config", None)
        values: dict[str, Any] = {}
        if config is not None:
            from bench.config_file import load_yaml

            values.update(_checked(load_yaml(config), f"--config {config}"))
        values.update(_checked(keywords, source))
        return cls(**values)

    def options(self) -> dict[str, Any]:
        """Every option as plain YAML/JSON types (what run.json records; deprecated flags only when given)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in DEPRECATED_FLAGS and value is None:
                continue
            if f.name == "checkpoint":
                value = [f"{name}={path}" for name, path in value]
            out[f.name] = str(value) if isinstance(value, Path) else value
        return out


def _checked(mapping: dict[str, Any], source: str) -> dict[str, Any]:
    """``mapping``'s keys as field names and values converted to the fields' types."""
    known = {f.name: f for f in fields(RunOptions)}
    out: dict[str, Any] = {}
    for raw_key, value in mapping.items():
        key = option_key(raw_key, known, source)
        out[key] = _convert(known[key], value, f"{source}: {raw_key}")
    return out


def _convert(f: Any, value: Any, where: str) -> Any:
    """One value converted to the type of field ``f`` (None stays None: the option's default)."""
    if value is None:
        return f.default_factory() if f.default_factory is not MISSING else f.default
    kind = type(f.default) if f.default is not None else None
    if f.name == "align" and isinstance(value, bool):  # ``align: false`` is ``--no-align``
        return "system" if value else "none"
    if f.name == "checkpoint":
        items = list(value.items()) if isinstance(value, dict) else value if isinstance(value, list) else [value]
        return [_checkpoint_pair(item, where) for item in items]
    if isinstance(f.default, bool):
        if not isinstance(value, bool):
            raise UsageError(f"{where}: expected true or false, got {value!r}")
        return value
    if isinstance(value, (list, tuple)):
        if not f.metadata.get("list"):
            raise UsageError(f"{where}: expected one value, got a list")
        value = ",".join(str(v) for v in value)
    if isinstance(value, (bool, dict)):
        raise UsageError(f"{where}: expected a single value, got {value!r}")
    if f.name in ("out", "weights", "cache_dir"):
        out: Any = Path(value)
    elif kind is float or f.name == "max_lag_ms":
        out = _number(float, value, where)
    elif kind is int or f.name in ("limit", "workers", "opus_bitrate", "spf_steps"):
        out = _number(int, value, where)
    else:
        out = str(value)
    choices = f.metadata.get("choices")
    if choices is not None and out not in choices:
        raise UsageError(f"{where}: {out!r} is not one of {', '.join(map(str, choices))}")
    return out


def _number(kind: type, value: Any, where: str) -> Any:
    try:
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError
        return kind(value)
    except (TypeError, ValueError):
        raise UsageError(f"{where}: invalid {kind.__name__} value: {value!r}") from None


def _checkpoint_pair(item: Any, where: str) -> tuple[str, Path]:
    if isinstance(item, tuple) and len(item) == 2:
        name, path = str(item[0]), str(item[1])
    else:
        name, sep, path = str(item).partition("=")
        if not sep:
            name = path = ""
    if not name or not path:
        raise UsageError(f"{where}: expected NAME=PATH, got {item!r}")
    return name, Path(path).expanduser()


def deprecated_option_defaults(opts: RunOptions) -> dict[str, dict[str, str]]:
    """The deprecated per-system flags as option defaults, with one note each on stderr."""
    out: dict[str, dict[str, str]] = {}
    for dest, (kind, key, convert, new_form) in DEPRECATED_FLAGS.items():
        value = getattr(opts, dest, None)
        if value is None:
            continue
        flag = "--" + dest.replace("_", "-")
        print(f"note: {flag} is deprecated and goes away in the next release; write {new_form(value)}",
              file=sys.stderr)
        out.setdefault(kind, {})[key] = convert(value)
    return out


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def run_config(opts: RunOptions):
    """Check the options and build the runner's :class:`~bench.runner.RunConfig`.

    Raises:
        UsageError: a missing or bad value, naming its flag.
    """
    from bench.corpora import CorpusOptions
    from bench.runner import RunConfig
    from bench.shards import Shard
    from systems import RunSettings, split_list
    from systems.options import OptionError

    for name in ("systems", "data", "out"):
        if getattr(opts, name) in (None, ""):
            raise UsageError(f"--{name} is required (on the command line or in --config)")
    if opts.limit is not None and opts.limit < 1:
        raise UsageError(f"--limit must be at least 1, not {opts.limit}")
    if not math.isfinite(opts.max_lag_ms) or opts.max_lag_ms < 0:
        raise UsageError(f"--max-lag-ms must be a number of milliseconds >= 0, not {opts.max_lag_ms}")
    if opts.workers is not None and opts.workers < 1:
        raise UsageError(f"--workers must be at least 1, not {opts.workers}")
    if opts.weights is not None and not opts.weights.is_dir():
        raise UsageError(f"--weights {opts.weights}: not a folder")
    for name, path in opts.checkpoint:
        if not path.exists():
            raise UsageError(f"--checkpoint {name}={path}: no such file")
    settings = RunSettings(
        device=opts.device, weights_dir=opts.weights, checkpoints=dict(opts.checkpoint), streaming=opts.streaming,
        seed=opts.seed, batch_size=opts.batch_size, amp=opts.amp, option_defaults=deprecated_option_defaults(opts),
    )
    try:
        systems = split_list(opts.systems)
    except OptionError as exc:
        raise UsageError(f"--systems: {exc}") from None
    cfg = RunConfig(
        systems=systems, data=opts.data, out=Path(opts.out), metrics=_csv(opts.metrics), limit=opts.limit,
        workers=opts.workers or os.cpu_count(), align=opts.align, max_lag_ms=opts.max_lag_ms, strict=opts.strict,
        downmix=opts.downmix, corpus=CorpusOptions(opts.split, tuple(_csv(opts.speakers)), opts.mic),
        settings=settings, executor=opts.executor, executor_address=opts.ray_address,
        shard=Shard.parse(opts.shard) if opts.shard else None, report=opts.report, overwrite=opts.overwrite,
        quiet=opts.quiet, sample_rate=opts.sample_rate, options=opts.options(),
    )
    if not cfg.systems:
        raise UsageError("--systems is empty")
    return cfg


def execute(opts: RunOptions):
    """Check the options, make the download settings effective, run. Returns ``(RunOutcome, RunConfig)``
    (the report, a layer above, is the caller's)."""
    from bench.downloads import configure
    from bench.runner import run

    for name in ("systems", "data", "out"):  # before anything is configured
        if getattr(opts, name) in (None, ""):
            raise UsageError(f"--{name} is required (on the command line or in --config)")
    configure(cache_dir=opts.cache_dir, offline=opts.offline, mirror_url=opts.mirror)
    cfg = run_config(opts)
    return run(cfg), cfg
