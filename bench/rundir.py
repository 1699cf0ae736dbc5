"""Paths inside a run folder (see docs/run_format.md)."""

from __future__ import annotations

import re
from pathlib import Path

FORMAT_VERSION = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")


def system_dir(name: str) -> str:
    """File-system-safe folder name for a system: ``files:mine`` -> ``files_mine``."""
    return _UNSAFE.sub("_", name)


class RunDir:
    """The layout of one run folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @property
    def run_json(self) -> Path:
        return self.root / "run.json"

    @property
    def results_jsonl(self) -> Path:
        return self.root / "results.jsonl"

    @property
    def results_csv(self) -> Path:
        return self.root / "results.csv"

    @property
    def summary_csv(self) -> Path:
        return self.root / "summary.csv"

    @property
    def report_dir(self) -> Path:
        return self.root / "report"

    def reference_wav(self, utt_id: str) -> Path:
        return self.root / "reference" / f"{utt_id}.wav"

    def audio_wav(self, system: str, utt_id: str) -> Path:
        return self.root / "audio" / system_dir(system) / f"{utt_id}.wav"

    def alignment_json(self, system: str) -> Path:
        """The system's lag, peak and flag (bench.alignment.SystemLag), written before its first row."""
        return self.root / "alignment" / f"{system_dir(system)}.json"

    def audio_sidecar(self, system: str, utt_id: str) -> Path:
        return self.root / "audio" / system_dir(system) / f"{utt_id}.json"
