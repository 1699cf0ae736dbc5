"""run.json, typed: the manifest of a run folder, read and written only through :class:`Manifest`.

Every read checks ``format_version``: a folder written by a newer suite is refused with a clear message
(upgrade), one older than any known format is refused, and version 1 is migrated in memory
(:func:`migrate_v1`). Keys this version does not know are kept (``extra``) and written back unchanged.
Format history (docs/run_format.md): 1 the first release; 2 adds ``config.options``, every ``bench run``
option after ``--config`` and flags (what ``bench run --print-config`` prints).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from bench.atomic import write_text_atomic
from bench.audio import SAMPLE_RATE
from bench.errors import UsageError

FORMAT_VERSION = 2
#: the oldest format this suite reads (migrated on read)
OLDEST_VERSION = 1


class RunFolderError(UsageError):
    """A run folder this suite cannot read: missing or damaged run.json, or an unknown format version."""


@dataclass(frozen=True)
class Failure:
    """Something that went wrong for one item: a value that could not be computed (run.json ``failures``),
    a NaN metric, a skipped input, a missing or unreadable audio file (the reports' failure list)."""

    utterance: str
    system: str
    metric: str
    error: str


@dataclass
class CorpusInfo:
    """The evaluated selection: its spec, size, checksum and one dict per utterance
    (id, speaker, gender, path, sha256, source_rate, channels, resampled_from, samples, duration)."""

    spec: str = ""
    n: int = 0
    manifest_sha256: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Manifest:
    """run.json. ``systems``/``metrics``: name -> what the system or metric recorded about itself
    (description, provenance, library version, settings); ``config``: the run's configuration."""

    format_version: int = FORMAT_VERSION
    package: dict[str, Any] = field(default_factory=dict)
    created: str | None = None
    finished: str | None = None
    status: str = "partial"
    command: list[str] = field(default_factory=list)
    git_revision: str | None = None
    machine: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    corpus: CorpusInfo = field(default_factory=CorpusInfo)
    systems: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: released files the run used, by registry name: ``{file, url, sha256, licence, ...}`` (bench.downloads)
    downloads: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    #: inputs that could not be used (``{utterance, path, error}``), listed once
    skipped_inputs: list[dict[str, Any]] = field(default_factory=list)
    #: keys of run.json this version does not model (kept as they were)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sample_rate(self) -> int:
        """The evaluation rate: what the run's WAVs hold (see :func:`evaluation_rate`)."""
        return evaluation_rate(self.config)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document: known keys in their fixed order, then the extra ones."""
        doc = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        doc["corpus"] = asdict(self.corpus)
        doc["failures"] = [asdict(f) for f in self.failures]
        return {**doc, **self.extra}

    @classmethod
    def from_dict(cls, doc: dict[str, Any], source: str = "run.json") -> Manifest:
        """A current-format document (see :func:`parse`, which also checks and migrates the version)."""
        known = {f.name for f in fields(cls)} - {"extra"}
        try:
            kwargs = {k: v for k, v in doc.items() if k in known}
            kwargs["corpus"] = CorpusInfo(**doc.get("corpus", {}))
            kwargs["failures"] = [Failure(**f) for f in doc.get("failures", [])]
        except TypeError as exc:
            raise RunFolderError(f"{source}: unexpected content ({exc})") from None
        return cls(**kwargs, extra={k: v for k, v in doc.items() if k not in known})


def evaluation_rate(config: dict[str, Any] | None) -> int:
    """The rate of a run's WAVs from its run.json ``config`` (48 kHz for runs from before ``--sample-rate``)."""
    return int((config or {}).get("sample_rate") or SAMPLE_RATE)


def migrate_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 1 -> 2: ``config.options`` did not exist (None: the options were not recorded)."""
    doc = dict(doc)
    doc["config"] = {**doc.get("config", {}), "options": doc.get("config", {}).get("options")}
    doc["format_version"] = 2
    return doc


_MIGRATIONS = {1: migrate_v1}


def parse(doc: Any, source: str = "run.json") -> Manifest:
    """Check the format version of a run.json document, migrate it to the current one, type it."""
    if not isinstance(doc, dict):
        raise RunFolderError(f"{source}: expected a JSON object, got {type(doc).__name__}")
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise RunFolderError(f"{source}: no format_version; not a run folder written by codec-bench")
    if version > FORMAT_VERSION:
        raise RunFolderError(f"{source}: format_version {version} was written by a newer codec-bench; this "
                             f"one reads versions {OLDEST_VERSION} to {FORMAT_VERSION} (upgrade codec-bench)")
    if version < OLDEST_VERSION:
        raise RunFolderError(f"{source}: format_version {version} is older than any this codec-bench reads "
                             f"({OLDEST_VERSION} to {FORMAT_VERSION}); rerun `bench run` into a new folder")
    while version < FORMAT_VERSION:
        doc = _MIGRATIONS[version](doc)
        version = doc["format_version"]
    return Manifest.from_dict(doc, source)


def read_manifest(path: str | Path) -> Manifest:
    """Read and check a run.json (``path``: the file or its run folder). Raises RunFolderError."""
    path = Path(path)
    if path.is_dir() or path.suffix != ".json":  # a run folder, or one that does not exist
        path = path / "run.json"
    if not path.is_file():
        if not path.parent.exists():
            raise RunFolderError(f"{path.parent}: no such folder")
        raise RunFolderError(f"{path.parent}: not a run folder (no run.json)")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{path}: not valid JSON ({exc})") from None
    return parse(doc, str(path))


def write_manifest(path: str | Path, manifest: Manifest) -> None:
    """Write run.json atomically (``path``: the file or its run folder), always in the current format."""
    path = Path(path)
    if path.is_dir():
        path = path / "run.json"
    manifest.format_version = FORMAT_VERSION
    write_text_atomic(path, json.dumps(manifest.to_dict(), indent=1, default=str))
