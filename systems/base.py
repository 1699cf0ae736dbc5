"""The System and PostFilter interfaces: every codec, anchor and post-filter plugs in through these.

A system maps one reference waveform to one output waveform of exactly the same length, time-aligned
with it (each system compensates its own known delay), plus the bits it spent and free-form info.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from bench.alignment import AlignPolicy


@dataclass
class SystemOptions:
    """Settings shared by all systems; the CLI fills it. Unknown settings do not exist: add a field.

    Attributes:
        device: torch device for neural systems ("cpu" or "cuda[:N]").
        weights_dir: an unzipped official AudioDec ``exp/`` folder, or None for the shipped demo weights.
        checkpoints: per-system checkpoint overrides, ``{"symad": Path(...), "spf": Path(...)}``.
        opus_bitrate: Opus target bitrate in bit/s.
        opus_application: "audio", "voip" or "lowdelay".
        streaming: run neural codecs chunk by chunk with cached history.
        seed: base seed; stochastic systems derive a per-utterance seed from it (order-independent).
        batch_size: utterances per batch for neural systems.
        spf_sampler: "pc" (predictor-corrector) or "ode" (probability flow); None: the sampler the
            post-filter weights recommend (PC N=30 for full-size weights, a lighter one for the demo).
        spf_steps: reverse steps N (PC: 2N network evaluations; ODE: N); None: as recommended.
        spf_snr: corrector signal-to-noise ratio for annealed Langevin; None: as recommended.
        amp: mixed precision (autocast) for neural systems on the device; changes values.
    """

    device: str = "cpu"
    weights_dir: Path | None = None
    checkpoints: dict[str, Path] = field(default_factory=dict)
    opus_bitrate: int = 24000
    opus_application: str = "audio"
    streaming: bool = False
    seed: int = 0
    batch_size: int = 4
    spf_sampler: str | None = None
    spf_steps: int | None = None
    spf_snr: float | None = None
    amp: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view for run.json."""
        d = dict(self.__dict__)
        d["weights_dir"] = str(self.weights_dir) if self.weights_dir else None
        d["checkpoints"] = {k: str(v) for k, v in self.checkpoints.items()}
        return d


@dataclass
class SystemOutput:
    """What a system returns for one utterance.

    Attributes:
        audio: ``[T]`` float32 at the system's sample rate, exactly the input length.
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

    Subclasses set the class attributes and implement :meth:`process`. Construction happens through
    :meth:`from_spec`, which the registry calls with the text after ``name:`` (if any).
    """

    #: registered name, e.g. "opus"; instances may carry a more specific ``name`` ("files:mine").
    kind: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: sample rate the system works at; the runner gives it 48 kHz audio and expects 48 kHz back.
    sample_rate: int = 48000
    #: nominal bitrate in kbit/s (None: not a codec).
    nominal_kbps: float | None = None
    #: True when outputs are deterministic given the input and options.seed.
    deterministic: ClassVar[bool] = True

    def __init__(self, options: SystemOptions, name: str | None = None) -> None:
        self.options = options
        self.name = name or self.kind

    @classmethod
    def unavailable_reason(cls, options: SystemOptions) -> str | None:
        """None when the system can run here; otherwise why not and what to install."""
        return None

    @classmethod
    def from_spec(cls, arg: str | None, options: SystemOptions, name: str) -> System:
        """Build from the registry spec. ``arg`` is the text after ``kind:`` in ``--systems``."""
        if arg:
            raise ValueError(f"system {cls.kind!r} takes no argument (got {arg!r})")
        return cls(options, name=name)

    @abstractmethod
    def process(self, audio: np.ndarray, *, utterance_id: str) -> SystemOutput:
        """Code and decode one utterance.

        Args:
            audio: ``[T]`` float32 mono at ``sample_rate``.
            utterance_id: the corpus id (adapters that look outputs up by id need it).
        Returns:
            SystemOutput with ``audio`` of shape ``[T]``.
        """

    def process_batch(self, audios: list[np.ndarray], *, utterance_ids: list[str]) -> list[SystemOutput]:
        """Several utterances at once; neural systems override this to batch on the device."""
        return [self.process(a, utterance_id=u) for a, u in zip(audios, utterance_ids)]

    def provenance(self) -> dict[str, Any]:
        """Versions, weights checksums and settings recorded in run.json."""
        return {}

    def use_alignment(self, policy: AlignPolicy) -> None:
        """The run's alignment policy, for adapters that must match lengths (``files:``); others ignore it."""

    def utterance_seed(self, utterance_id: str) -> int:
        """A seed that depends only on options.seed and the utterance (not on order or worker)."""
        h = hashlib.sha256(f"{self.options.seed}:{self.name}:{utterance_id}".encode()).digest()
        return int.from_bytes(h[:4], "little")


class PostFilter(ABC):
    """A stage that follows any system: ``--systems opus+spf``. The bitrate is its codec's."""

    kind: ClassVar[str] = ""
    description: ClassVar[str] = ""
    deterministic: ClassVar[bool] = True

    def __init__(self, options: SystemOptions, codec_name: str) -> None:
        self.options = options
        self.codec_name = codec_name

    @classmethod
    def unavailable_reason(cls, options: SystemOptions) -> str | None:
        """None when the post-filter can run here; otherwise why not."""
        return None

    @abstractmethod
    def process(self, coded: np.ndarray, *, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
        """Enhance one coded utterance.

        Args:
            coded: ``[T]`` float32 at 48 kHz, the codec output.
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


class ComposedSystem(System):
    """``codec+postfilter[+postfilter...]``: runs the codec, then each post-filter in turn."""

    deterministic: ClassVar[bool] = True

    def __init__(self, codec: System, postfilters: list[PostFilter], name: str) -> None:
        super().__init__(codec.options, name=name)
        self.codec = codec
        self.postfilters = postfilters
        self.sample_rate = codec.sample_rate
        self.nominal_kbps = codec.nominal_kbps
        self.description = " + ".join([codec.description or codec.name] + [p.description for p in postfilters])

    def process(self, audio: np.ndarray, *, utterance_id: str) -> SystemOutput:
        return self.process_batch([audio], utterance_ids=[utterance_id])[0]

    def use_alignment(self, policy: AlignPolicy) -> None:
        self.codec.use_alignment(policy)

    def process_batch(self, audios: list[np.ndarray], *, utterance_ids: list[str]) -> list[SystemOutput]:
        outs = self.codec.process_batch(audios, utterance_ids=utterance_ids)
        for pf in self.postfilters:
            seeds = [self.utterance_seed(u) for u in utterance_ids]
            res = pf.process_batch([o.audio for o in outs], seeds=seeds)
            for o, (y, info) in zip(outs, res):
                if y.shape != o.audio.shape:
                    raise RuntimeError(f"post-filter {pf.kind} changed the length {o.audio.shape} -> {y.shape}")
                o.audio = y.astype(np.float32, copy=False)
                o.info[pf.kind] = info
        return outs

    def provenance(self) -> dict[str, Any]:
        return {"codec": self.codec.provenance(), **{pf.kind: pf.provenance() for pf in self.postfilters}}
