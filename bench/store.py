"""Durable, resumable result storage: an append-only JSONL log keyed by (utterance, system, metric).

Every batch of rows is flushed and fsync'ed before the runner moves on, so a run killed at any moment
(kill -9) loses at most rows that were being written; a torn last line is detected and dropped on the
next open. results.csv is derived from the log, deduplicated by key, in a deterministic order.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.audio import write_text_atomic

CSV_COLUMNS = ("utterance", "speaker", "system", "metric", "value", "error")
#: the metric of the one row an input that the corpus rejects gets (system "", value NaN, error: why);
#: no system ran on it, so it has no other rows
SKIPPED_INPUT = "skipped_input"


@dataclass(frozen=True)
class Row:
    """One result: a value (NaN when it could not be computed) and the reason if so."""

    utterance: str
    speaker: str
    system: str
    metric: str
    value: float
    error: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.utterance, self.system, self.metric)

    def to_json(self) -> str:
        v = self.value
        value = None if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else v)
        return json.dumps({"utterance": self.utterance, "speaker": self.speaker, "system": self.system,
                           "metric": self.metric, "value": value, "error": self.error})

    @classmethod
    def from_dict(cls, d: dict) -> Row:
        v = d.get("value")
        value = math.nan if v is None else float(v)
        return cls(d["utterance"], d.get("speaker", ""), d["system"], d["metric"], value, d.get("error") or "")


class ResultStore:
    """Append-only results log with an in-memory index of what is done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: dict[tuple[str, str, str], Row] = {}
        self._load()
        self._fh = open(self.path, "a", encoding="utf-8")

    def _load(self) -> None:
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return
        data = self.path.read_bytes()
        good_end = 0
        pos = 0
        for line in data.splitlines(keepends=True):
            pos += len(line)
            if not line.endswith(b"\n"):
                break  # torn last line from a killed run
            try:
                row = Row.from_dict(json.loads(line))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                break
            self.rows[row.key] = row
            good_end = pos
        if good_end != len(data):
            with open(self.path, "r+b") as f:
                f.truncate(good_end)

    def __contains__(self, key: tuple[str, str, str]) -> bool:
        return key in self.rows

    def add(self, rows: Iterable[Row]) -> int:
        """Append rows not yet present; flush and fsync. Returns how many were new."""
        new = [r for r in rows if r.key not in self.rows]
        if not new:
            return 0
        self._fh.write("".join(r.to_json() + "\n" for r in new))
        self._fh.flush()
        os.fsync(self._fh.fileno())
        for r in new:
            self.rows[r.key] = r
        return len(new)

    def close(self) -> None:
        self._fh.close()

    def sorted_rows(self) -> list[Row]:
        return sorted(self.rows.values(), key=lambda r: (r.system, r.utterance, r.metric))

    def write_csv(self, path: Path) -> None:
        """results.csv (atomically): one row per key, value ``nan`` when it failed."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(CSV_COLUMNS)
        for r in self.sorted_rows():
            w.writerow([r.utterance, r.speaker, r.system, r.metric, _fmt(r.value), r.error])
        write_text_atomic(path, buf.getvalue())


def _fmt(v: float) -> str:
    if math.isnan(v):
        return "nan"
    return repr(float(v))


def read_results_csv(path: Path) -> list[Row]:
    """Parse a results.csv written by :meth:`ResultStore.write_csv`."""
    with open(path, newline="") as f:
        return [Row(d["utterance"], d["speaker"], d["system"], d["metric"], float(d["value"]), d["error"])
                for d in csv.DictReader(f)]
