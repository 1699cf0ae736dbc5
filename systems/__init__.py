"""Systems under test and post-filters, behind one registry each.

``--systems`` accepts registered names (``opus``), names with options (``opus@12k``,
``opus[kbps=12,application=voip]``), names with an argument (``files:mine=DIR``), and compositions with
post-filters (``opus@12k+spf[steps=8]``, ``files:mine=DIR+spf``); the grammar is in systems/options.py.
``scoredec`` and ``opus_spf`` are registered compositions. Third-party systems register through the ``codec_bench.systems`` and
``codec_bench.postfilters`` entry-point groups.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from bench.registry import Registry, RegistryError
from systems.base import (
    ComposedSystem,
    PostFilter,
    RunSettings,
    System,
    SystemOutput,
    SystemUnavailable,
)
from systems.options import (
    OptionError,
    OptionInfo,
    Stage,
    describe_options,
    instance_name,
    parse_options,
    parse_stage,
    split_list,
    split_stages,
)

SYSTEMS: Registry[type[System]] = Registry("system", "codec_bench.systems")
POSTFILTERS: Registry[type[PostFilter]] = Registry("post-filter", "codec_bench.postfilters")

SYSTEMS.register("natural", "systems.reference:Natural", meta={"summary": "the reference itself"})
SYSTEMS.register("opus", "systems.opus:Opus", meta={"summary": "Opus (libopus), 24 kbps; another bitrate as opus@12k"})
SYSTEMS.register("lc3", "systems.lc3:LC3", meta={"summary": "LC3 (liblc3), 32 kbps; another bitrate as lc3@16k"})
SYSTEMS.register("anchor35", "systems.anchors:Anchor35", meta={"summary": "MUSHRA low anchor, 3.5 kHz low-pass"})
SYSTEMS.register("anchor70", "systems.anchors:Anchor70", meta={"summary": "MUSHRA mid anchor, 7 kHz low-pass"})
SYSTEMS.register("files", "systems.files:FilesSystem", meta={"summary": "outputs produced elsewhere: files:NAME=DIR, files:NAME@6k=DIR"})
SYSTEMS.register("symad", "systems.audiodec.system:SymAD", meta={"summary": "AudioDec symmetric autoencoder"})
SYSTEMS.register("audiodec_stage1", "systems.audiodec.system:AudioDecStage1",
                 meta={"summary": "AudioDec stage-1 autoencoder"})
SYSTEMS.register("audiodec", "systems.audiodec.system:AudioDec",
                 meta={"summary": "AudioDec with HiFi-GAN vocoder"})
SYSTEMS.register("encodec", "systems.encodec.system:Encodec24k",
                 meta={"summary": "EnCodec 24 kHz, official weights (encodec@12k)"})
SYSTEMS.register("encodec_48k", "systems.encodec.system:Encodec48k",
                 meta={"summary": "EnCodec 48 kHz, official weights"})
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
    #: "downloads N MB on first use" (files not cached yet), or a hint for weights used once downloaded
    downloads: str | None = None
    #: the registry entries building it would download now (``--systems all`` leaves it out until cached)
    pending: tuple[str, ...] = ()


def _stage_options(cls: type, stage: Stage, settings: RunSettings) -> tuple[object, str, str]:
    """(options instance, canonical stage name, the name without the shorthand option) of one stage."""
    opts, explicit = parse_options(cls.Options, stage, cls.shorthand, settings.option_defaults.get(stage.kind))
    arg_label = None
    if stage.arg is not None:
        arg_label = stage.arg.split("=", 1)[0]
    name = instance_name(stage.kind, cls.Options, cls.shorthand, explicit, arg_label)
    # a labelled system (files:NAME=DIR) is grouped by its label: its rates and options are one curve
    rest = {} if arg_label is not None else {k: v for k, v in explicit.items() if k != cls.shorthand}
    return opts, name, instance_name(stage.kind, cls.Options, cls.shorthand, rest, arg_label)


def parse_spec(spec: str) -> tuple[str, list[Stage]]:
    """``"opus@12k+spf[steps=8]"`` -> (the spec with composites expanded, its stages). Raises OptionError."""
    spec = spec.strip()
    expanded = COMPOSITES.get(spec, spec)
    parts = split_stages(expanded)
    if parts and ":" in parts[0]:
        # a system with an argument (files:mine=DIR) may hold '+' in it: only registered post-filters
        # are peeled off the right end
        i = len(parts)
        while i > 1 and parse_stage(parts[i - 1]).kind in POSTFILTERS:
            i -= 1
        parts = ["+".join(parts[:i]), *parts[i:]]
    stages = [parse_stage(p) for p in parts]
    if any(not st.kind for st in stages):
        raise OptionError(f"{spec!r}: empty system name")
    return expanded, stages


def build_system(spec: str, settings: RunSettings, *, named: bool = False) -> System:
    """Construct a system from its ``--systems`` spec (grammar: systems/options.py).

    ``named``: the user named it in ``--systems`` (not reached through ``all``): it may download a release it
    could do without (AudioDec's official weights under ``weights=auto``).

    Raises RegistryError (unknown name, with suggestions), OptionError/ValueError (bad options or
    argument) or SystemUnavailable.
    """
    spec = spec.strip()
    if named:
        settings = replace(settings, fetch_release=True)
    _, stages = parse_spec(spec)
    head, post = stages[0], stages[1:]
    if head.kind in POSTFILTERS and head.kind not in SYSTEMS:
        raise OptionError(f"{spec!r}: {head.kind} is a post-filter; it follows a system, e.g. opus+{head.kind}")
    cls = SYSTEMS.get(head.kind)
    reason = cls.unavailable_reason(settings)
    if reason:
        raise SystemUnavailable(f"{head.kind}: {reason}")
    opts, base_name, family = _stage_options(cls, head, settings)
    codec = cls.from_spec(head.arg, settings, base_name, opts)
    codec.family = family
    if not post:
        if spec in COMPOSITES:
            codec.name = codec.family = spec
        return codec
    filters: list[PostFilter] = []
    for st in post:
        if st.kind in SYSTEMS and st.kind not in POSTFILTERS:
            raise OptionError(f"{spec!r}: {st.kind} is a system, not a post-filter; "
                              f"list it on its own: --systems {split_stages(spec)[0]},{st.kind}")
        pcls = POSTFILTERS.get(st.kind)
        if st.arg is not None:
            raise OptionError(f"{spec!r}: post-filter {st.kind} takes no ':' argument")
        preason = pcls.unavailable_reason(settings)
        if preason:
            raise SystemUnavailable(f"{st.kind}: {preason}")
        popts, pname, _ = _stage_options(pcls, st, settings)
        pf = pcls(settings, codec_name=codec.name, options=popts)
        pf.name = pname
        filters.append(pf)
    composed_name = spec if spec in COMPOSITES else "+".join([codec.name, *(f.name for f in filters)])
    composed = ComposedSystem(codec, filters, name=composed_name)
    composed.family = spec if spec in COMPOSITES else "+".join([family, *(f.name for f in filters)])
    return composed


def describe_system(name: str, settings: RunSettings) -> tuple[SystemInfo, list[tuple[str, list[OptionInfo]]]]:
    """One system (or composite) with the options of each of its stages, for ``bench systems NAME``."""
    info = next((r for r in describe_systems(settings) if r.name == name), None)
    if info is None:
        SYSTEMS.resolve_name(name)  # raises with suggestions
        raise RegistryError(f"unknown system {name!r}")
    _, stages = parse_spec(name)
    out = [(stages[0].kind, describe_options(SYSTEMS.get(stages[0].kind).Options))]
    out += [(st.kind, describe_options(POSTFILTERS.get(st.kind).Options)) for st in stages[1:]]
    return info, out


def registered_summaries() -> list[tuple[str, str]]:
    """(name, one-line summary) of every system and composition, from registry metadata: imports nothing."""
    rows = [(n, SYSTEMS.meta(n).get("summary", "(plugin)")) for n in SYSTEMS.names()]
    for name, spec in COMPOSITES.items():
        _, stages = parse_spec(name)
        parts = [SYSTEMS.meta(stages[0].kind).get("summary", stages[0].kind)]
        parts += [POSTFILTERS.meta(st.kind).get("summary", st.kind) for st in stages[1:]]
        rows.append((name, " + ".join(parts) + f" (= {spec})"))
    return rows


def system_names_for_all() -> list[str]:
    """Every registered system and composition that takes no argument, in registry order."""
    return [n for n in SYSTEMS.names() if n not in _NEEDS_ARGUMENT] + list(COMPOSITES)


def describe_systems(settings: RunSettings) -> list[SystemInfo]:
    """What ``bench systems`` prints: each system, whether it can run here, and why not."""
    return list(iter_system_checks(settings))


def iter_system_checks(settings: RunSettings) -> Iterator[SystemInfo]:
    """:func:`describe_systems` one system at a time (each imports its module to check it)."""
    for name in [*SYSTEMS.names(), *COMPOSITES]:
        try:
            _, stages = parse_spec(name)
            cls = SYSTEMS.get(stages[0].kind)
            reason = cls.unavailable_reason(settings)
            desc, kbps = cls.description, cls.nominal_kbps
            needs, optional = list(cls.downloads), list(getattr(cls, "optional_downloads", ()))
            pending = cls.pending_downloads(settings) if reason is None else ()
            for st in stages[1:]:
                pcls = POSTFILTERS.get(st.kind)
                reason = reason or pcls.unavailable_reason(settings)
                desc = f"{desc} + {pcls.description}"
                needs += pcls.downloads
                pending += pcls.pending_downloads(settings) if reason is None else ()
            note = _download_note(needs, optional, settings) if reason is None else None
        except (ImportError, RegistryError, AttributeError) as exc:
            reason, desc, kbps, note, pending = f"cannot be loaded: {exc}", "", None, None, ()
        yield SystemInfo(name, desc, kbps, reason is None, reason, note, pending)


def _download_note(needs: list[str], optional: list[str], settings: RunSettings) -> str | None:
    """What ``bench systems`` says about downloads: N MB on first use, and when optional official weights come."""
    from bench.downloads import cached, first_use_note, is_offline

    if settings.weights_dir is not None or settings.checkpoints:
        return None
    note = first_use_note(tuple(needs)) if needs else None
    missing = [n for n in optional if cached(n) is None]
    if missing:
        names = " ".join(missing)
        if is_offline():
            hint = f"offline: demo weights (official weights: `bench download {names}` on a machine with internet)"
        else:
            hint = (f"official weights: {first_use_note(tuple(missing))} when named in --systems (or `bench download "
                    f"{names}`); demo weights until then and with --systems all")
        note = f"{note}; {hint}" if note else hint
    return note


def expand_systems(specs: list[str], settings: RunSettings) -> tuple[list[str], list[tuple[str, str]]]:
    """Expand ``all`` into the systems that can run here without downloading anything (a system whose
    released weights are not cached yet runs when it is named, fetching them on first use).

    Returns:
        (specs to run, [(name, reason skipped)] for systems in ``all`` that cannot run here).
    """
    out: list[str] = []
    skipped: list[tuple[str, str]] = []
    for s in specs:
        if s == "all":
            for info in describe_systems(settings):
                if info.name in _NEEDS_ARGUMENT:
                    continue
                if not info.available:
                    skipped.append((info.name, info.reason or ""))
                elif info.pending:
                    names = " ".join(info.pending)
                    why = (f"its weights are not downloaded yet ({names}): `--systems all` downloads nothing; "
                           f"name {info.name} in --systems to fetch them on first use, or run `bench download {names}`")
                    skipped.append((info.name, why))
                else:
                    out.append(info.name)
        else:
            out.append(s)
    seen: set[str] = set()
    return [s for s in out if not (s in seen or seen.add(s))], skipped


__all__ = [
    "COMPOSITES",
    "POSTFILTERS",
    "SYSTEMS",
    "ComposedSystem",
    "OptionError",
    "PostFilter",
    "RunSettings",
    "System",
    "SystemInfo",
    "SystemOutput",
    "SystemUnavailable",
    "build_system",
    "describe_system",
    "describe_systems",
    "expand_systems",
    "iter_system_checks",
    "parse_spec",
    "registered_summaries",
    "split_list",
    "system_names_for_all",
]
