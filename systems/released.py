"""Released third-party codecs (EnCodec, DAC) as systems: where their weights are found, and the common
run loop (code in batches at the model's own rate, which is the rate the system declares: the runner
resamples at its boundary, once each way, only where the evaluation rate differs).

A system looks, in order, at ``--checkpoint KIND=PATH``, at the folder given with ``--weights DIR`` (and
its ``encodec/`` or ``dac/`` subfolder), at the cache folder the official package would have downloaded to,
and then at the suite's download cache, fetching the file there on first use (:mod:`bench.downloads`).
Offline, a missing file is an error that names the file, its release URL and where to put it.
"""

from __future__ import annotations

import importlib.util
import os
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from systems.base import RunSettings, System, SystemOutput, SystemUnavailable


@dataclass(frozen=True)
class ReleasedWeights:
    """One released checkpoint file.

    Attributes:
        family: "encodec" or "dac" (the subfolder of ``--weights DIR`` also searched).
        names: file names accepted in ``--weights DIR`` and the package's cache, the release's own first.
        download: the download-registry entry (:mod:`bench.downloads`) that fetches it into the cache.
        package_cache: returns the folder the official package downloads it to (read when looking).
    """

    family: str
    names: tuple[str, ...]
    download: str
    package_cache: Callable[[], Path]

    @property
    def url(self) -> str:
        """Where the release publishes the file (from the download registry)."""
        from bench.downloads import entry

        return entry(self.download).urls[0]

    def candidates(self, weights_dir: Path | None) -> list[Path]:
        """Every local path looked at before the download cache, in order."""
        folders = [weights_dir, weights_dir / self.family] if weights_dir is not None else []
        return [folder / name for folder in [*folders, self.package_cache()] for name in self.names]

    def _local(self, kind: str, settings: RunSettings) -> Path | None:
        override = settings.checkpoints.get(kind)
        if override is not None:
            if not Path(override).is_file():
                raise FileNotFoundError(f"--checkpoint {kind}={override}: no such file")
            return Path(override)
        return next((p for p in self.candidates(settings.weights_dir) if p.is_file()), None)

    def _hint(self, kind: str) -> str:
        return f"or pass --weights DIR (the folder holding {self.names[0]}) or --checkpoint {kind}=PATH"

    def locate(self, kind: str, settings: RunSettings) -> Path:
        """The checkpoint file for system ``kind``: ``--checkpoint``, ``--weights DIR``, the package's cache,
        then the download cache (downloading it unless offline).

        Raises:
            FileNotFoundError: offline and not cached, or the download failed (names the file, its URL and
                where to put it).
        """
        from bench.downloads import DownloadError, resolve

        local = self._local(kind, settings)
        if local is not None:
            return local
        try:
            return resolve(self.download)
        except DownloadError as exc:
            raise FileNotFoundError(f"{exc}; {self._hint(kind)}") from None

    def unavailable(self, kind: str, settings: RunSettings) -> str | None:
        """Why the file cannot be had here (offline and nowhere local), else None. Never downloads."""
        from bench.downloads import availability

        try:
            if self._local(kind, settings) is not None:
                return None
        except FileNotFoundError as exc:
            return str(exc)
        reason = availability(self.download)
        return f"{reason}; {self._hint(kind)}" if reason else None


def dac_cache_dir() -> Path:
    """``~/.cache/descript/dac`` (where ``python -m dac download`` puts the weights)."""
    return Path.home() / ".cache" / "descript" / "dac"


def torch_hub_dir() -> Path:
    """``$TORCH_HOME/hub/checkpoints`` (torch's default download folder)."""
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch"
    )
    return Path(home) / "hub" / "checkpoints"


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """Crop or zero-pad ``[T]`` to ``n`` samples (resampling round trips may differ by a sample)."""
    if len(x) >= n:
        return np.ascontiguousarray(x[:n], dtype=np.float32)
    return np.pad(x, (0, n - len(x))).astype(np.float32)


def length_groups(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indices grouped by equal length (first-seen order), each group cut into batches of ``batch_size``."""
    groups: dict[int, list[int]] = {}
    for i, n in enumerate(lengths):
        groups.setdefault(n, []).append(i)
    size = max(1, batch_size)
    return [g[i : i + size] for g in groups.values() for i in range(0, len(g), size)]


@dataclass
class Coded:
    """One utterance coded at the model's rate.

    Attributes:
        audio: ``[T]`` float32 at the model's rate, the input's length, delay removed.
        bits: bits counted from the codes (and side information) produced.
        info: per-utterance details (frames, codebooks, segments).
    """

    audio: np.ndarray
    bits: float
    info: dict[str, Any]


class ReleasedCodecSystem(System):
    """A released neural codec; it declares the rate its model codes at (``sample_rate = model_rate``).

    Subclasses set ``weights``, ``model_rate``, their ``Options`` and implement :meth:`_load` and :meth:`_code`;
    :meth:`_check_options` rejects option combinations the dataclass cannot express.
    """

    deterministic: ClassVar[bool] = True
    libraries: ClassVar[tuple[str, ...]] = ("torch",)
    weights: ClassVar[ReleasedWeights]
    model_rate: ClassVar[int]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "weights" in cls.__dict__:
            cls.downloads = (cls.weights.download,)
        if "model_rate" in cls.__dict__:  # the system works at its model's rate: nothing resampled inside
            cls.sample_rate = cls.model_rate

    def __init__(self, settings: RunSettings, name: str | None = None, options: Any = None) -> None:
        super().__init__(settings, name, options)
        self._check_options()
        try:
            self.weights_path = self.weights.locate(self.kind, settings)
        except FileNotFoundError as exc:
            raise SystemUnavailable(f"{self.kind}: {exc}") from exc
        try:
            self._load(self.weights_path)
        except ValueError as exc:  # a file that is not this model's checkpoint
            raise SystemUnavailable(f"{self.kind}: {exc}") from exc

    @classmethod
    def unavailable_reason(cls, settings: RunSettings) -> str | None:
        if importlib.util.find_spec("torch") is None:  # not imported: `bench systems` stays fast
            return "PyTorch is not installed (pip install torch)"
        return cls.weights.unavailable(cls.kind, settings)

    @classmethod
    def pending_downloads(cls, settings: RunSettings) -> tuple[str, ...]:
        try:
            if cls.weights._local(cls.kind, settings) is not None:  # --checkpoint, --weights or the package's cache
                return ()
        except FileNotFoundError:  # a --checkpoint that does not exist: building the system says so
            return ()
        return super().pending_downloads(settings)

    def _check_options(self) -> None:
        """Raise ValueError for options that are each valid but not together (before any file is read)."""

    @abstractmethod
    def _load(self, path: Path) -> None:
        """Load the checkpoint (strictly) onto ``settings.device``; ValueError when it does not fit."""

    @abstractmethod
    def _code(self, audios: list[np.ndarray]) -> list[Coded]:
        """Code utterances given at ``model_rate``."""

    def process(self, audio: np.ndarray, *, utterance_id: str) -> SystemOutput:
        return self.process_batch([audio], utterance_ids=[utterance_id])[0]

    def process_batch(self, audios: list[np.ndarray], *, utterance_ids: list[str]) -> list[SystemOutput]:
        inputs = [np.asarray(a, dtype=np.float32).reshape(-1) for a in audios]
        return [SystemOutput(audio=fit_length(coded.audio, len(a)), bits=coded.bits, info=coded.info)
                for a, coded in zip(inputs, self._code(inputs))]

    def _provenance(self) -> dict[str, Any]:
        from bench.audio import sha256_file

        return {
            "weights_file": str(self.weights_path),
            "weights_sha256": sha256_file(self.weights_path),
            "release_url": self.weights.url,
            "model_sample_rate": self.model_rate,
            "device": self.settings.device,
        }


def load_state_strict(build: Callable[[], Any], state: Any, path: Path, what: str) -> Any:
    """The module ``build()`` makes, holding ``state`` (``strict=True``), with clear messages on mismatch.

    The module is built on the meta device and takes the loaded tensors as they are (no random
    initialisation of tens of millions of parameters that are overwritten at once).

    Raises:
        ValueError: ``state`` is not a tensor mapping with exactly the model's names and shapes (naming
            ``path`` and the first mismatches).
    """
    import torch

    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: not a state dict (a mapping of parameter names to tensors)")
    with torch.device("meta"):
        model = build()
    own = model.state_dict()
    problems = [f"missing {k}" for k in own if k not in state]
    problems += [f"unexpected {k}" for k in state if k not in own]
    problems += [f"{k}: shape {list(v.shape)} != {list(own[k].shape)}" for k, v in state.items()
                 if k in own and v.shape != own[k].shape]
    if problems:
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ValueError(f"{path}: not a {what} checkpoint: {'; '.join(problems[:3])}{more}")
    model.load_state_dict(state, strict=True, assign=True)
    return model
