"""Systems under test and post-filters, behind one registry each.

``--systems`` accepts registered names (``opus``), names with an argument (``files:mine=DIR``), and
compositions with post-filters (``opus+spf``, ``files:mine=DIR+spf``). ``scoredec`` and ``opus_spf``
are registered compositions. Third-party systems register through the ``codec_bench.systems`` and
``codec_bench.postfilters`` entry-point groups.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from bench.registry import Registry, RegistryError
from systems.base import (
    ComposedSystem,
    PostFilter,
    System,
    SystemOptions,
    SystemOutput,
    SystemUnavailable,
)

SYSTEMS: Registry[type[System]] = Registry("system", "codec_bench.systems")
POSTFILTERS: Registry[type[PostFilter]] = Registry("post-filter", "codec_bench.postfilters")

SYSTEMS.register("natural", "systems.reference:Natural", meta={"summary": "the reference itself"})
SYSTEMS.register("opus", "systems.opus:Opus", meta={"summary": "Opus (libopus) at --opus-bitrate"})
SYSTEMS.register("anchor35", "systems.anchors:Anchor35", meta={"summary": "MUSHRA low anchor, 3.5 kHz low-pass"})
SYSTEMS.register("anchor70", "systems.anchors:Anchor70", meta={"summary": "MUSHRA mid anchor, 7 kHz low-pass"})
SYSTEMS.register("files", "systems.files:FilesSystem", meta={"summary": "outputs produced elsewhere: files:NAME=DIR"})
SYSTEMS.register("symad", "systems.audiodec.system:SymAD", meta={"summary": "AudioDec symmetric autoencoder"})
SYSTEMS.register("audiodec_stage1", "systems.audiodec.system:AudioDecStage1",
                 meta={"summary": "AudioDec stage-1 autoencoder"})
SYSTEMS.register("audiodec", "systems.audiodec.system:AudioDec",
                 meta={"summary": "AudioDec with HiFi-GAN vocoder"})
SYSTEMS.register("encodec", "systems.encodec.system:Encodec24k", meta={"summary": "EnCodec 24 kHz, official weights"})
SYSTEMS.register("encodec_48k", "systems.encodec.system:Encodec48k", meta={"summary": "EnCodec 48 kHz, official weights"})
SYSTEMS.register("dac_44k", "systems.dac.system:DAC44k", meta={"summary": "DAC 44.1 kHz, official weights"})
SYSTEMS.register("dac_24k", "systems.dac.system:DAC24k", meta={"summary": "DAC 24 kHz, official weights"})
SYSTEMS.register("dac_16k", "systems.dac.system:DAC16k", meta={"summary": "DAC 16 kHz, official weights"})
POSTFILTERS.register("spf", "systems.spf.postfilter:ScorePostFilter",
                     meta={"summary": "score-based diffusion post-filter"})

#: Registered compositions: name -> spec. Their results carry the composed name.
COMPOSITES: dict[str, str] = {
    "scoredec": "audiodec_stage1+spf",
    "opus_spf": "opus+spf",
}

#: Systems that need an argument are never part of ``all``.
_NEEDS_ARGUMENT = {"files"}


@dataclass
class SystemInfo:
    """One line of ``bench systems``."""

    name: str
    description: str
    nominal_kbps: float | None
    available: bool
    reason: str | None


def _split_postfilters(spec: str) -> tuple[str, list[str]]:
    """``"files:x=a+b+spf"`` -> ``("files:x=a+b", ["spf"])``: peel registered post-filters from the right."""
    post: list[str] = []
    base = spec
    while "+" in base:
        head, _, tail = base.rpartition("+")
        if tail.split(":", 1)[0] in POSTFILTERS:
            post.insert(0, tail)
            base = head
        else:
            break
    return base, post


def build_system(spec: str, options: SystemOptions) -> System:
    """Construct a system from its ``--systems`` spec. Raises RegistryError/ValueError/SystemUnavailable."""
    spec = spec.strip()
    name = spec
    if spec in COMPOSITES:
        spec = COMPOSITES[spec]
    base, post = _split_postfilters(spec)
    kind, _, arg = base.partition(":")
    cls = SYSTEMS.get(kind)
    reason = cls.unavailable_reason(options)
    if reason:
        raise SystemUnavailable(f"{kind}: {reason}")
    base_name = base if not arg else f"{kind}:{arg.split('=', 1)[0]}"
    codec = cls.from_spec(arg or None, options, name=base_name)
    if not post:
        if name != spec:  # a registered composite with no post-filter part
            codec.name = name
        return codec
    filters: list[PostFilter] = []
    for p in post:
        pkind = p.split(":", 1)[0]
        pcls = POSTFILTERS.get(pkind)
        preason = pcls.unavailable_reason(options)
        if preason:
            raise SystemUnavailable(f"{pkind}: {preason}")
        filters.append(pcls(options, codec_name=codec.name))
    composed_name = name if name in COMPOSITES else "+".join([base_name, *post])
    return ComposedSystem(codec, filters, name=composed_name)


def registered_summaries() -> list[tuple[str, str]]:
    """(name, one-line summary) of every system and composition, from registry metadata: imports nothing."""
    rows = [(n, SYSTEMS.meta(n).get("summary", "(plugin)")) for n in SYSTEMS.names()]
    for name, spec in COMPOSITES.items():
        base, post = _split_postfilters(spec)
        parts = [SYSTEMS.meta(base.split(":", 1)[0]).get("summary", base)]
        parts += [POSTFILTERS.meta(p.split(":", 1)[0]).get("summary", p) for p in post]
        rows.append((name, " + ".join(parts) + f" (= {spec})"))
    return rows


def system_names_for_all() -> list[str]:
    """Every registered system and composition that takes no argument, in registry order."""
    return [n for n in SYSTEMS.names() if n not in _NEEDS_ARGUMENT] + list(COMPOSITES)


def describe_systems(options: SystemOptions) -> list[SystemInfo]:
    """What ``bench systems`` prints: each system, whether it can run here, and why not."""
    return list(iter_system_checks(options))


def iter_system_checks(options: SystemOptions) -> Iterator[SystemInfo]:
    """:func:`describe_systems` one system at a time (each imports its module to check it)."""
    for name in [*SYSTEMS.names(), *COMPOSITES]:
        spec = COMPOSITES.get(name, name)
        base, post = _split_postfilters(spec)
        try:
            cls = SYSTEMS.get(base.split(":", 1)[0])
            reason = cls.unavailable_reason(options)
            desc, kbps = cls.description, cls.nominal_kbps
            for p in post:
                pcls = POSTFILTERS.get(p.split(":", 1)[0])
                reason = reason or pcls.unavailable_reason(options)
                desc = f"{desc} + {pcls.description}"
        except (ImportError, RegistryError, AttributeError) as exc:
            reason, desc, kbps = f"cannot be loaded: {exc}", "", None
        yield SystemInfo(name, desc, kbps, reason is None, reason)


def expand_systems(specs: list[str], options: SystemOptions) -> tuple[list[str], list[tuple[str, str]]]:
    """Expand ``all`` into the systems that can run here.

    Returns:
        (specs to run, [(name, reason skipped)] for systems in ``all`` that cannot run here).
    """
    out: list[str] = []
    skipped: list[tuple[str, str]] = []
    for s in specs:
        if s == "all":
            for info in describe_systems(options):
                if info.name in _NEEDS_ARGUMENT:
                    continue
                if info.available:
                    out.append(info.name)
                else:
                    skipped.append((info.name, info.reason or ""))
        else:
            out.append(s)
    seen: set[str] = set()
    return [s for s in out if not (s in seen or seen.add(s))], skipped


__all__ = [
    "COMPOSITES",
    "POSTFILTERS",
    "SYSTEMS",
    "ComposedSystem",
    "PostFilter",
    "System",
    "SystemInfo",
    "SystemOptions",
    "SystemOutput",
    "SystemUnavailable",
    "build_system",
    "describe_systems",
    "expand_systems",
    "iter_system_checks",
    "registered_summaries",
    "system_names_for_all",
]
