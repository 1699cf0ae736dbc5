"""The Metric interface: metadata declared once in a frozen spec, computation keyword-only."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np


class MetricError(RuntimeError):
    """The metric cannot be computed for this pair (too short, silent reference, library error).

    The runner stores NaN with this message as the reason: never a stand-in number.
    """


@dataclass(frozen=True)
class MetricSpec:
    """What a metric is, declared once.

    Attributes:
        name: registry name, carrying the mode (``pesq_wb``, ``visqol_speech``).
        higher_is_better: direction, shown as an arrow in every table.
        sample_rate: the rate the metric runs at; the runner resamples once per rate and reuses it.
        needs_reference: intrusive (True) or not (False: the runner neither aligns nor reads the
            reference for it, and also scores the reference itself once, as system ``reference``).
        unit: "MOS-LQO", "dB", "rad", ...
        library: the PyPI distribution whose version is recorded ("" for our own code).
        description: one line for ``bench metrics`` and report legends.
        min_eval_rate: the lowest evaluation rate (``bench run --sample-rate``) at which the metric means
            something; 0: any (the audio is resampled to ``sample_rate``). Full-band metrics (ViSQOL audio
            mode, log-spectral distances) say 44100 and are skipped, with this reason, in a 16 kHz run.
    """

    name: str
    higher_is_better: bool
    sample_rate: int
    needs_reference: bool = True
    unit: str = ""
    library: str = ""
    description: str = ""
    min_eval_rate: int = 0

    def skip_reason(self, eval_rate: int) -> str | None:
        """Why the metric cannot run in a run evaluated at ``eval_rate`` Hz, or None."""
        if eval_rate < self.min_eval_rate:
            return (f"needs audio evaluated at {self.min_eval_rate} Hz or more (its band would be empty); "
                    f"this run evaluates at {eval_rate} Hz (--sample-rate)")
        return None


class Metric(ABC):
    """One objective metric. Instances are created once per worker process and reused."""

    spec: ClassVar[MetricSpec]
    #: the module the metric needs, and how to install it (checked by :meth:`unavailable_reason`)
    requires: ClassVar[tuple[str, str] | None] = None
    #: PyPI distributions besides ``spec.library`` whose versions change values (recorded in run.json)
    extra_libraries: ClassVar[tuple[str, ...]] = ()
    #: download-registry entries the metric fetches on first use with ``bench.downloads.resolve(name)``
    #: (e.g. ``("whisper-small",)``); run.json records them
    downloads: ClassVar[tuple[str, ...]] = ()
    #: True: :meth:`compute` also takes ``text=``, the utterance's corpus transcript ("" when it has none)
    uses_text: ClassVar[bool] = False

    @classmethod
    def create(cls, checkpoints: Mapping[str, Path] | None = None) -> Metric:
        """An instance for a run with these ``--checkpoint NAME=FILE`` files (metrics with weights override)."""
        return cls()

    @classmethod
    def weights_reason(cls, checkpoints: Mapping[str, Path]) -> str | None:
        """Why the metric cannot run with these ``--checkpoint`` files (its weights missing), or None.

        The run skips the metric with this reason (one line, not a NaN per utterance)."""
        return None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """None when the metric's library imports here; otherwise why not and what to install."""
        if cls.requires is None:
            return None
        module, install = cls.requires
        try:
            importlib.import_module(module)
        except ImportError as exc:
            return f"{module} cannot be imported ({exc}); install it with: {install}"
        return None

    @abstractmethod
    def compute(self, *, reference: np.ndarray | None, degraded: np.ndarray, sample_rate: int) -> float:
        """Score one pair (or one signal, for ``needs_reference=False``).

        Args:
            reference: ``[T]`` float32 at ``spec.sample_rate`` (time-aligned with ``degraded``); None for
                metrics that need no reference.
            degraded: ``[T]`` float32, same length.
            sample_rate: equals ``spec.sample_rate`` (checked by the runner; given for clarity).
        Returns:
            the score as a float. Raises MetricError when it cannot be computed.
        """

    def settings(self) -> dict[str, Any]:
        """Settings recorded in run.json and report notes (e.g. ViSQOL mode and mapper)."""
        return {}


def library_version(dist: str) -> str | None:
    """The installed version of a PyPI distribution, or None."""
    if not dist:
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None
