"""The System and PostFilter interfaces: every codec, anchor and post-filter plugs in through these.

A system maps one reference waveform to one output waveform of exactly the same length, time-aligned
with it (each system compensates its own known delay), plus the bits it spent and free-form info.
"""

from __future__ import annotations

import hashlib
import itertools
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from metrics.base import library_version
from systems.options import NoOptions, options_dict

if TYPE_CHECKING:
    from bench.alignment import AlignPolicy


@dataclass
class RunSettings:
    """Run-wide settings every system sees (the CLI fills it). A system's own options are not here: each
    system declares them in its ``Options`` dataclass (see systems/options.py).

    Attributes:
        device: torch device for neural systems ("cpu" or "cuda[:N]").
        weights_dir: an unzipped official AudioDec ``exp/`` folder, or None (the release from the download
            cache, else the shipped demo weights).
        checkpoints: per-system checkpoint overrides, ``{"symad": Path(...), "spf": Path(...)}``.
        streaming: run neural codecs chunk by chunk with cached history.
        seed: base seed; stochastic systems derive a per-utterance seed from it (order-independent).
        batch_size: utterances per batch for neural systems.
        amp: mixed precision (autocast) for neural systems on the device; changes values.
        option_defaults: ``{kind: {option: "value"}}`` applied where a spec sets nothing (the deprecated
            ``--opus-bitrate``-style flags fill it); the instance name does not show them.
        fetch_release: a system may download a release it can do without (AudioDec's official weights under
            ``weights=auto``): set by :func:`systems.build_system` for systems named in ``--systems``; off for
            ``--systems all`` (which downloads nothing) and in scripts. Not a run setting: run.json leaves it out.
    """

    device: str = "cpu"
    weights_dir: Path | None = None
    checkpoints: dict[str, Path] = field(default_factory=dict)
    streaming: bool = False
    seed: int = 0
    batch_size: int = 4
    amp: bool = False
    option_defaults: dict[str, dict[str, str]] = field(default_factory=dict)
    fetch_release: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view for run.json."""
        d = dict(self.__dict__)
        d.pop("fetch_release")
        d["weights_dir"] = str(self.weights_dir) if self.weights_dir else None
        d["checkpoints"] = {k: str(v) for k, v in self.checkpoints.items()}
        return d


@dataclass
class SystemOutput:
    """What a system returns for one utterance.

    Attributes:
        audio: ``[T]`` float32 at the system's output rate, exactly the input's duration.
        bits: total bits spent on this utterance (None for systems that code nothing, e.g. anchors).
        info: JSON-serialisable details (latency, NFE, seed, alignment done, ...).
    """

    audio: np.ndarray
    bits: float | None = None
    info: dict[str, Any] = field(default_factory=dict)


class SystemUnavailable(RuntimeError):
    """The system cannot run on this machine; the message says why and what to install."""


class System(ABC):
    """A codec (or reference, or anchor) under test.

    Subclasses set the class attributes and implement :meth:`process`. A system's own options are a
    frozen dataclass ``Options`` made with :func:`systems.options.option` (``shorthand`` names the one
    that ``kind@VALUE`` sets); :func:`systems.build_system` parses them from the spec and passes them in.
    """

    #: registered name, e.g. "opus"; instances may carry a more specific ``name`` ("files:mine").
    kind: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: PyPI distributions whose versions change this stage's output (recorded in run.json ``versions``)
    libraries: ClassVar[tuple[str, ...]] = ()
    #: the rate the system really codes at; the runner gives it audio at this rate (resampling from the
    #: evaluation rate once, only where they differ) and takes its output at :attr:`output_rate`.
    sample_rate: int = 48000
    #: True for systems that work at any rate (``natural``, ``files:``): :meth:`use_rate` makes them adopt
    #: the run's evaluation rate, so nothing is resampled at their boundary.
    any_rate: ClassVar[bool] = False
    #: nominal bitrate in kbit/s (None: not a codec).
    nominal_kbps: float | None = None
    #: True when outputs are deterministic given the input, its options and settings.seed.
    deterministic: ClassVar[bool] = True
    #: True for systems whose native library could kill the process (a C codec through ctypes or an
    #: extension): on CPU the local executor runs them in a worker process forked after they are built, so a
    #: crash costs the utterance being coded, not the run. Neural systems stay in the process (weights,
    #: GPUs, OpenMP after fork).
    isolated: ClassVar[bool] = False

    #: download-registry entries (:mod:`bench.downloads`) the system may fetch on first use
    downloads: ClassVar[tuple[str, ...]] = ()

    #: the system's own options (a frozen dataclass of :func:`systems.options.option` fields)
    Options: ClassVar[type] = NoOptions
    #: the option that ``kind@VALUE`` sets (e.g. "kbps"), or None
    shorthand: ClassVar[str | None] = None

    def __init__(self, settings: RunSettings, name: str | None = None, options: Any = None) -> None:
        self.settings = settings
        self.options = options if options is not None else self.Options()
        self.name = name or self.kind
        #: the name without the rate option: points of one rate-quality curve share it ("opus", "opus+spf")
        self.family = self.name

    @classmethod
    def unavailable_reason(cls, settings: RunSettings) -> str | None:
        """None when the system can run here; otherwise why not and what to install."""
        return None

    @classmethod
    def pending_downloads(cls, settings: RunSettings) -> tuple[str, ...]:
        """The registry entries building the system would download now (declared and not cached); ``--systems
        all`` leaves such systems out, a system named in ``--systems`` fetches them."""
        return _not_cached(cls.downloads)

    @classmethod
    def from_spec(cls, arg: str | None, settings: RunSettings, name: str, options: Any) -> System:
        """Build from a parsed spec. ``arg`` is the text after ``kind:`` (``files:mine=DIR``), if any."""
        if arg:
            form = f"{cls.kind}@VALUE (sets {cls.shorthand}) or " if cls.shorthand else ""
            raise ValueError(f"system {cls.kind!r} takes no ':' argument (got {arg!r}); options are written "
                             f"{form}{cls.kind}[key=value,...]; see `bench systems {cls.kind}`")
        return cls(settings, name=name, options=options)

    @abstractmethod
    def process(self, audio: np.ndarray, *, utterance_id: str) -> SystemOutput:
        """Code and decode one utterance.

        Args:
            audio: ``[T]`` float32 mono at ``sample_rate``.
            utterance_id: the corpus id (adapters that look outputs up by id need it).
        Returns:
            SystemOutput with ``audio`` of shape ``[T]`` (``[resampled_length(T, sample_rate, output_rate)]``
            when :attr:`output_rate` differs).
        """

    def batch_limit(self) -> int:
        """Utterances per :meth:`process_batch` call in a run (``settings.batch_size``)."""
        return max(1, int(self.settings.batch_size))

    def process_batch(self, audios: list[np.ndarray], *, utterance_ids: list[str]) -> list[SystemOutput]:
        """Several utterances at once; neural systems override this to batch on the device."""
        return [self.process(a, utterance_id=u) for a, u in zip(audios, utterance_ids)]

    def provenance(self) -> dict[str, Any]:
        """Versions, weights checksums and settings recorded in run.json."""
        return {}

    def library_versions(self) -> dict[str, str | None]:
        """Versions of the libraries this system's output depends on (run.json ``versions``)."""
        return {d: library_version(d) for d in self.libraries}

    def option_values(self) -> dict[str, Any]:
        """Every option with its value (spec'd or default), ``{"kbps": 24.0, ...}``, for run.json."""
        return options_dict(self.options)

    def default_option_values(self) -> dict[str, Any]:
        """:meth:`option_values` as the declared defaults would give them (what a run made before an option
        existed used)."""
        return _defaults(self.options)

    @property
    def output_rate(self) -> int:
        """The rate of the audio :meth:`process` returns (the input rate, but for a composition whose last
        post-filter works at another rate)."""
        return self.sample_rate

    def use_rate(self, rate: int) -> None:
        """The run's evaluation rate, told before the first utterance: an ``any_rate`` system adopts it."""
        if self.any_rate:
            self.sample_rate = int(rate)

    def use_alignment(self, policy: AlignPolicy) -> None:
        """The run's alignment policy, for adapters that must match lengths (``files:``); others ignore it."""

    #: outputs are read from files made elsewhere (``files:``): the runner records each file's checksum in the
    #: output's sidecar and recomputes the output when its file changes or appears
    reads_files: ClassVar[bool] = False

    def output_file(self, utterance_id: str) -> Path | None:
        """The file the output for ``utterance_id`` is read from (``reads_files`` systems), None when none."""
        return None

    def utterance_seed(self, utterance_id: str) -> int:
        """A seed that depends only on settings.seed and the utterance (not on order or worker)."""
        h = hashlib.sha256(f"{self.settings.seed}:{self.name}:{utterance_id}".encode()).digest()
        return int.from_bytes(h[:4], "little")


class PostFilter(ABC):
    """A stage that follows any system: ``--systems opus+spf``. The bitrate is its codec's."""

    kind: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: PyPI distributions whose versions change this stage's output (recorded in run.json ``versions``)
    libraries: ClassVar[tuple[str, ...]] = ()
    deterministic: ClassVar[bool] = True
    #: the rate the post-filter works at; a codec at another rate is resampled to it and back
    sample_rate: ClassVar[int] = 48000
    #: download-registry entries the post-filter may fetch on first use, as for :class:`System`
    downloads: ClassVar[tuple[str, ...]] = ()
    #: the post-filter's own options, as for :class:`System`
    Options: ClassVar[type] = NoOptions
    shorthand: ClassVar[str | None] = None

    def __init__(self, settings: RunSettings, codec_name: str, options: Any = None) -> None:
        self.settings = settings
        self.options = options if options is not None else self.Options()
        self.codec_name = codec_name
        #: the stage's name in the composed name ("spf", "spf[steps=8]")
        self.name = self.kind

    @classmethod
    def unavailable_reason(cls, settings: RunSettings) -> str | None:
        """None when the post-filter can run here; otherwise why not."""
        return None

    @classmethod
    def pending_downloads(cls, settings: RunSettings) -> tuple[str, ...]:
        """As :meth:`System.pending_downloads`."""
        return _not_cached(cls.downloads)

    @abstractmethod
    def process(self, coded: np.ndarray, *, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
        """Enhance one coded utterance.

        Args:
            coded: ``[T]`` float32 at ``sample_rate``, the codec output.
            seed: per-utterance seed.
        Returns:
            ``([T]`` float32 enhanced, info dict, e.g. ``{"nfe": 60, "seed": seed}``).
        """

    def process_batch(
        self, coded: list[np.ndarray], *, seeds: list[int]
    ) -> list[tuple[np.ndarray, dict[str, Any]]]:
        """Several at once; override to batch."""
        return [self.process(c, seed=s) for c, s in zip(coded, seeds)]

    def provenance(self) -> dict[str, Any]:
        """Weights checksum, sampler settings, NFE, ..."""
        return {}

    def library_versions(self) -> dict[str, str | None]:
        """Versions of the libraries this post-filter's output depends on."""
        return {d: library_version(d) for d in self.libraries}


class ComposedSystem(System):
    """``codec+postfilter[+postfilter...]``: runs the codec at its rate, then each post-filter in turn at
    its own rate (resampled once where the rate changes); the output is at the last post-filter's rate."""

    deterministic: ClassVar[bool] = True

    def __init__(self, codec: System, postfilters: list[PostFilter], name: str) -> None:
        super().__init__(codec.settings, name=name, options=codec.options)
        self.codec = codec
        self.postfilters = postfilters
        self.sample_rate = codec.sample_rate
        self.nominal_kbps = codec.nominal_kbps
        self.description = " + ".join([codec.description or codec.name] + [p.description for p in postfilters])

    def process(self, audio: np.ndarray, *, utterance_id: str) -> SystemOutput:
        return self.process_batch([audio], utterance_ids=[utterance_id])[0]

    @property
    def output_rate(self) -> int:
        return self.postfilters[-1].sample_rate if self.postfilters else self.codec.output_rate

    def use_rate(self, rate: int) -> None:
        self.codec.use_rate(rate)
        self.sample_rate = self.codec.sample_rate

    def use_alignment(self, policy: AlignPolicy) -> None:
        self.codec.use_alignment(policy)

    @property
    def reads_files(self) -> bool:  # type: ignore[override]
        return self.codec.reads_files

    def output_file(self, utterance_id: str) -> Path | None:
        return self.codec.output_file(utterance_id)

    def batch_limit(self) -> int:
        """One utterance at a time behind a post-filter: it batches the chunks of an utterance itself, and a
        run then shows progress per utterance of this slowest stage."""
        return 1 if self.postfilters else self.codec.batch_limit()

    def process_batch(self, audios: list[np.ndarray], *, utterance_ids: list[str]) -> list[SystemOutput]:
        from bench.audio import fit_length, resample, resampled_length

        outs = self.codec.process_batch(audios, utterance_ids=utterance_ids)
        rate = self.codec.output_rate
        for pf in self.postfilters:
            seeds = [self.utterance_seed(u) for u in utterance_ids]
            inputs = [fit_length(resample(o.audio, rate, pf.sample_rate),
                                 resampled_length(len(a), self.sample_rate, pf.sample_rate))
                      for o, a in zip(outs, audios)]
            res = pf.process_batch(inputs, seeds=seeds)
            for o, x, (y, info) in zip(outs, inputs, res):
                if y.shape != x.shape:
                    raise RuntimeError(f"post-filter {pf.kind} changed the length {x.shape} -> {y.shape}")
                o.audio = y.astype(np.float32, copy=False)
                o.info[pf.kind] = info
            rate = pf.sample_rate
        return outs

    def provenance(self) -> dict[str, Any]:
        from bench.audio import resampling_record

        rates = [self.codec.output_rate, *(pf.sample_rate for pf in self.postfilters)]
        steps = [resampling_record(a, b) for a, b in itertools.pairwise(rates) if a != b]
        return {"codec": self.codec.provenance(), **{pf.kind: pf.provenance() for pf in self.postfilters},
                **({"resampling": steps} if steps else {})}

    def library_versions(self) -> dict[str, str | None]:
        out = self.codec.library_versions()
        for pf in self.postfilters:
            out.update(pf.library_versions())
        return out

    def option_values(self) -> dict[str, Any]:
        """The codec's options, then each post-filter's prefixed with its kind (``spf.steps``)."""
        out = self.codec.option_values()
        for pf in self.postfilters:
            out.update({f"{pf.kind}.{k}": v for k, v in options_dict(pf.options).items()})
        return out

    def default_option_values(self) -> dict[str, Any]:
        out = self.codec.default_option_values()
        for pf in self.postfilters:
            out.update({f"{pf.kind}.{k}": v for k, v in _defaults(pf.options).items()})
        return out


def _defaults(options: Any) -> dict[str, Any]:
    """The declared defaults of an options dataclass instance's type (empty when it has required fields)."""
    try:
        return options_dict(type(options)())
    except TypeError:
        return {}


def _not_cached(names: tuple[str, ...]) -> tuple[str, ...]:
    """The registry entries among ``names`` that are not in the download cache yet."""
    if not names:
        return ()
    from bench.downloads import cached

    return tuple(n for n in names if cached(n) is None)
