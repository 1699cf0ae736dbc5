"""Reading one run folder (docs/run_format.md) into what the reports need. Never reads the corpus."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import InputError, UsageError
from bench.runfolder import Failure, read_manifest
from bench.runfolder.paths import REFERENCE_SYSTEM, RunDir, system_dir
from bench.runfolder.results import SKIPPED_INPUT, Row, read_results_csv, read_results_log
from bench.runfolder.wav import read_run_wav

#: Rows in results.csv that are not quality metrics (no direction; shown apart).
BITRATE = "bitrate_kbps"
LAG = "lag_samples"
AUXILIARY = (BITRATE, LAG)


@dataclass
class Run:
    """A loaded run folder.

    Attributes:
        root: the run folder.
        label: short name used in comparison reports (the folder name unless made unique).
        info: run.json as a dict (``{}`` keys filled with empty defaults when absent).
        rows: every row of results.csv (or results.jsonl when the CSV is absent).
        systems: system names in the order of run.json ``systems``, then any others found in rows.
        metrics: quality metrics in the order of run.json ``metrics``, then any others found in rows.
        utterances: utterance ids in corpus order, then any others found in rows.
        speakers: utterance id -> speaker id ("" when unknown).
        skipped_inputs: utterance id -> why the corpus rejected it (no system ran on it).
    """

    root: Path
    label: str
    info: dict[str, Any]
    rows: list[Row]
    systems: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    utterances: list[str] = field(default_factory=list)
    speakers: dict[str, str] = field(default_factory=dict)
    skipped_inputs: dict[str, str] = field(default_factory=dict)

    @property
    def layout(self) -> RunDir:
        return RunDir(self.root)

    def higher_is_better(self, metric: str) -> bool | None:
        """The direction of ``metric`` from run.json, None when unknown (bitrate, lag)."""
        value = self.info.get("metrics", {}).get(metric, {}).get("higher_is_better")
        return bool(value) if isinstance(value, bool) else None

    def metric_info(self, metric: str) -> dict[str, Any]:
        """run.json ``metrics[metric]`` (empty when absent)."""
        return dict(self.info.get("metrics", {}).get(metric, {}) or {})

    def system_info(self, system: str) -> dict[str, Any]:
        """run.json ``systems[system]`` (empty when absent)."""
        return dict(self.info.get("systems", {}).get(system, {}) or {})

    def audio_dir(self, system: str) -> str:
        """The system's folder name under audio/: run.json's ``audio_dir`` (given either as ``name`` or as
        ``audio/name``), else the file-system-safe system name."""
        given = str(self.system_info(system).get("audio_dir") or "").strip("/")
        return given.removeprefix("audio/") or system_dir(system)

    def reference_path(self, utt: str) -> Path:
        return self.layout.reference_wav(utt)

    def audio_path(self, system: str, utt: str) -> Path:
        if system == REFERENCE_SYSTEM and not self.system_info(system):
            return self.reference_path(utt)
        return self.root / "audio" / self.audio_dir(system) / f"{utt}.wav"

    @cached_property
    def _index(self) -> dict[tuple[str, str], list[Row]]:
        index: dict[tuple[str, str], list[Row]] = {}
        for r in self.rows:
            if not r.not_applicable:
                index.setdefault((r.system, r.metric), []).append(r)
        return index

    def values(self, system: str, metric: str, speaker: str | None = None) -> list[float]:
        """Per-utterance values of one cell (NaN for failures), optionally for one speaker.

        Rows marked not applicable (error ``n/a: ...``, e.g. the bitrate of an uncoded system) are left out."""
        return [r.value for r in self._index.get((system, metric), []) if speaker is None or r.speaker == speaker]

    def value(self, system: str, metric: str, utt: str) -> float:
        """One value (NaN when absent or failed)."""
        for r in self._index.get((system, metric), []):
            if r.utterance == utt:
                return r.value
        return float("nan")

    @cached_property
    def _cells(self) -> dict[tuple[str, str, str], Row]:
        return {(r.utterance, r.system, r.metric): r for r in self.rows}

    def row(self, utt: str, system: str, metric: str) -> Row | None:
        """The results.csv row of one item and metric (None when absent)."""
        return self._cells.get((utt, system, metric))

    def value_map(self, system: str, metric: str) -> dict[str, float]:
        """Utterance -> value of one cell (failures as NaN; not-applicable rows left out)."""
        return {r.utterance: r.value for r in self._index.get((system, metric), [])}

    def restricted(self, utterances: set[str]) -> Run:
        """The same run with only the rows (and utterances) in ``utterances``."""
        return Run(self.root, self.label, self.info, [r for r in self.rows if r.utterance in utterances],
                   list(self.systems), list(self.metrics), [u for u in self.utterances if u in utterances],
                   {u: s for u, s in self.speakers.items() if u in utterances})

    def speaker_list(self) -> list[str]:
        """Distinct speakers in utterance order."""
        return list(dict.fromkeys(self.speakers.get(u, "") for u in self.utterances))

    def failures(self) -> list[Failure]:
        """Every failed item: NaN rows with their reason, run.json failures, missing audio files."""
        seen: set[tuple[str, str, str]] = set()
        out: list[Failure] = []

        def add(f: Failure) -> None:
            key = (f.utterance, f.system, f.metric)
            if key not in seen:
                seen.add(key)
                out.append(f)

        for r in self.rows:
            if r.not_applicable:
                continue
            if not math.isfinite(r.value) or r.error:
                add(Failure(r.utterance, r.system, r.metric, r.error or "value is not finite (no reason given)"))
        for f in self.info.get("failures", []) or []:
            add(Failure(str(f.get("utterance", "")), str(f.get("system", "")), str(f.get("metric", "")),
                        str(f.get("error", ""))))
        for utt, why in self.skipped_inputs.items():
            add(Failure(utt, "", "input skipped", why))
        for system in self.systems:
            for utt in self.utterances:
                if utt in self.skipped_inputs:
                    continue
                path = self.audio_path(system, utt)
                if not path.is_file():
                    add(Failure(utt, system, "audio", f"{path.relative_to(self.root)}: file missing"))
        return out


def read_audio(path: Path) -> tuple[np.ndarray, int] | None:
    """(``[T]`` float32 mono, rate) from a run's WAV, or None when the file is missing or unreadable."""
    try:
        return read_run_wav(path)
    except InputError:
        return None


def _float(text: str | float | None) -> float:
    if text is None or text == "":
        return float("nan")
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _read_rows(layout: RunDir) -> list[Row]:
    if layout.results_csv.is_file():
        return read_results_csv(layout.results_csv)
    if layout.results_jsonl.is_file():
        return read_results_log(layout.results_jsonl)
    raise UsageError(f"{layout.root}: neither results.csv nor results.jsonl found; is this a run folder?")


def load_run(root: str | Path, label: str | None = None) -> Run:
    """Load a run folder. Raises UsageError naming the file when it is not a readable run folder."""
    layout = RunDir(root)
    if not layout.root.is_dir():
        raise UsageError(f"{layout.root}: not a directory")
    info = read_manifest(layout.root).to_dict()
    rows = _read_rows(layout)
    skipped = {r.utterance: r.error for r in rows if r.metric == SKIPPED_INPUT}
    skipped.update({str(d.get("utterance")): str(d.get("error", "")) for d in info.get("skipped_inputs") or []})
    rows = [r for r in rows if r.metric != SKIPPED_INPUT]
    systems = list(dict.fromkeys([*(info.get("systems") or {}), *(r.system for r in rows)]))
    if REFERENCE_SYSTEM in systems and REFERENCE_SYSTEM not in (info.get("systems") or {}):
        systems.remove(REFERENCE_SYSTEM)  # the ceiling row of the metrics that need no reference goes first
        systems.insert(0, REFERENCE_SYSTEM)
    declared = [m for m in (info.get("metrics") or {}) if m not in AUXILIARY]
    metrics = list(dict.fromkeys([*declared, *(r.metric for r in rows if r.metric not in AUXILIARY)]))
    items = (info.get("corpus", {}) or {}).get("items") or []
    speakers = {str(it["id"]): str(it.get("speaker") or "") for it in items if "id" in it}
    for r in rows:
        speakers.setdefault(r.utterance, r.speaker)
    utterances = list(dict.fromkeys([*speakers]))
    return Run(layout.root, label or layout.root.resolve().name, info, rows, systems, metrics, utterances, speakers,
               skipped)


__all__ = ["AUXILIARY", "BITRATE", "LAG", "Failure", "Row", "Run", "load_run", "read_audio"]
