"""Paths inside a run folder (see docs/run_format.md); every path handed out is checked to lie inside it.

Utterance ids become file names (``reference/<id>.wav``), so an id could point anywhere: corpora reject
unsafe ids (:func:`id_problem`), and :class:`RunDir` refuses any path that leaves the run folder or that
is one of the run's inputs (so an input is never overwritten, whatever the ids and ``--out``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from bench.errors import UsageError
from bench.runfolder.manifest import FORMAT_VERSION  # noqa: F401  (the manifest owns it)

#: the pseudo-system whose rows score the reference itself (metrics that need no reference: the ceiling);
#: its audio is ``reference/<id>.wav``
REFERENCE_SYSTEM = "reference"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.+@=-]")


def system_dir(name: str) -> str:
    """File-system-safe folder name for a system: ``files:mine`` -> ``files_mine``,
    ``opus@12k[application=voip]`` -> ``opus@12k_application=voip_``."""
    return _UNSAFE.sub("_", name)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: the longest file name an id's last segment may become (``<segment>.json``: 255 bytes, Linux's NAME_MAX)
MAX_SEGMENT_BYTES = 255 - len(".json")
#: the longest id (a run folder's own path and ``audio/<system>/`` come before it; PATH_MAX is 4096)
MAX_ID_BYTES = 2048


def id_problem(utt_id: str) -> str | None:
    """Why an utterance id cannot name files in a run folder, or None when it is safe.

    Ids are relative POSIX paths (``p232/p232_001``): not empty, no absolute path, no ``.``/``..`` or empty
    segments, no backslash, no control characters, and short enough to be file names (each segment at most
    :data:`MAX_SEGMENT_BYTES` bytes in UTF-8, the whole id :data:`MAX_ID_BYTES`).
    """
    if not utt_id:
        return "empty id"
    if _CONTROL.search(utt_id):
        return "control character in id"
    if "\\" in utt_id:
        return "backslash in id (use / between folders)"
    if utt_id.startswith("/") or re.match(r"^[A-Za-z]:", utt_id):
        return "absolute path as id"
    parts = utt_id.split("/")
    if any(p == "" for p in parts):
        return "empty path segment in id"
    if any(p in (".", "..") for p in parts):
        return "'.' or '..' segment in id"
    longest = max(len(p.encode("utf-8", "surrogateescape")) for p in parts)
    if longest > MAX_SEGMENT_BYTES:
        return f"a name of {longest} bytes; file names hold at most {MAX_SEGMENT_BYTES} (with the .json the run adds)"
    if len(utt_id.encode("utf-8", "surrogateescape")) > MAX_ID_BYTES:
        return f"{len(utt_id.encode('utf-8', 'surrogateescape'))} bytes long; ids hold at most {MAX_ID_BYTES}"
    return None


class UnsafePath(UsageError):
    """A path the suite was about to write lies outside the run folder or is one of the inputs."""


class RunDir:
    """The layout of one run folder.

    Args:
        root: the run folder.
        inputs: files the run reads (they are never handed out as places to write).
    """

    def __init__(self, root: str | Path, inputs: Iterable[str | Path] = ()) -> None:
        self.root = Path(root)
        self._inputs: set[str] = set()
        self.protect(inputs)

    def protect(self, inputs: Iterable[str | Path]) -> None:
        """Add files that must never be written (the run's inputs)."""
        self._inputs.update(os.path.realpath(p) for p in inputs)

    def create(self) -> bool:
        """Create the run folder if needed (UsageError naming the problem). Returns True if it was created."""
        if self.root.exists() and not self.root.is_dir():
            raise UsageError(f"--out {self.root}: is a file, not a folder")
        existed = self.root.is_dir()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--out {self.root}: cannot create the folder ({exc.strerror})") from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise UsageError(f"--out {self.root}: the folder is not writable")
        return not existed

    def remove_if_unused(self) -> None:
        """Remove a run folder that holds nothing but its lock file (a run that failed before any work)."""
        entries = list(self.root.iterdir()) if self.root.is_dir() else []
        if all(e.name == ".lock" for e in entries):
            for e in entries:
                e.unlink(missing_ok=True)
            self.root.rmdir()

    def checked(self, path: Path) -> Path:
        """``path`` if it lies inside the run folder and is not an input; UnsafePath otherwise."""
        real = os.path.realpath(path)
        root = os.path.realpath(self.root)
        if os.path.commonpath([real, root]) != root or real == root:
            raise UnsafePath(f"refusing to write {path}: outside the run folder {self.root}")
        if real in self._inputs:
            raise UnsafePath(f"refusing to write {path}: it is one of the run's input files")
        return path

    @property
    def run_json(self) -> Path:
        return self.checked(self.root / "run.json")

    @property
    def results_jsonl(self) -> Path:
        return self.checked(self.root / "results.jsonl")

    @property
    def results_csv(self) -> Path:
        return self.checked(self.root / "results.csv")

    @property
    def summary_csv(self) -> Path:
        return self.checked(self.root / "summary.csv")

    @property
    def report_dir(self) -> Path:
        return self.root / "report"

    def reference_wav(self, utt_id: str) -> Path:
        return self.checked(self.root / "reference" / f"{utt_id}.wav")

    def reference_sidecar(self, utt_id: str) -> Path:
        return self.checked(self.root / "reference" / f"{utt_id}.json")

    def audio_wav(self, system: str, utt_id: str) -> Path:
        return self.checked(self.root / "audio" / system_dir(system) / f"{utt_id}.wav")

    @property
    def codec_delays_json(self) -> Path:
        """Residual delays measured for Opus/LC3 settings (systems.delay.remembered), reused by reruns."""
        return self.checked(self.root / "codec_delays.json")

    def alignment_json(self, system: str) -> Path:
        """The system's lag, peak and flag (bench.alignment.SystemLag), written before its first row."""
        return self.root / "alignment" / f"{system_dir(system)}.json"

    def audio_sidecar(self, system: str, utt_id: str) -> Path:
        return self.checked(self.root / "audio" / system_dir(system) / f"{utt_id}.json")
