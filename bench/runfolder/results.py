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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.atomic import write_text_atomic
from bench.errors import UsageError
from bench.stats import NOT_APPLICABLE

CSV_COLUMNS = ("utterance", "speaker", "system", "metric", "value", "error")
#: the metric of the one row an input that the corpus rejects gets (system "", value NaN, error: why);
#: no system ran on it, so it has no other rows
SKIPPED_INPUT = "skipped_input"
#: rows that the runner adds besides metrics (not metrics themselves)
EXTRA_ROWS = ("bitrate_kbps", "lag_samples")
#: metrics also stored unaligned (scored on the output before any lag is compensated), under these names
RAW_METRICS = {"si_sdr": "si_sdr_raw", "snr": "snr_raw", "phase_distance": "phase_distance_raw"}


def raw_rows(metric_names: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """``(metric, stored name)`` of the requested metrics that are also stored unaligned."""
    return tuple((m, RAW_METRICS[m]) for m in metric_names if m in RAW_METRICS)


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

    @property
    def not_applicable(self) -> bool:
        """A NaN that is no failure: the metric does not apply (``n/a: anchor35 spends no bits``)."""
        return self.error.startswith(NOT_APPLICABLE)

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
    """Append-only results log with an in-memory index of what is done.

    Args:
        path: the results.jsonl file.
        readonly: only read it (e.g. a run folder that ``bench merge`` joins): nothing is repaired.

    Damage found on opening is repaired and described in :attr:`notes`: a torn last line (a run killed
    while writing) is dropped; a corrupt line elsewhere is skipped, its row computed again, and the line
    itself moved to ``results.jsonl.corrupt`` so nothing is lost.
    """

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        self.rows: dict[tuple[str, str, str], Row] = {}
        #: what was wrong with the file when it was opened, one sentence each
        self.notes: list[str] = []
        #: keys found on more than one line with different values: (key, first row, later row); the later wins
        self.conflicts: list[tuple[tuple[str, str, str], Row, Row]] = []
        self._load(readonly)
        self._fh = None if readonly else open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def _load(self, readonly: bool) -> None:
        if not self.path.exists():
            if not readonly:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            return
        data = self.path.read_bytes()
        lines = data.splitlines(keepends=True)
        torn = bool(lines) and not lines[-1].endswith(b"\n")
        if torn:
            lines = lines[:-1]
        good: list[bytes] = []
        bad: list[tuple[int, bytes, str]] = []
        for i, line in enumerate(lines, 1):
            try:
                row = Row.from_dict(json.loads(line))
            except json.JSONDecodeError:
                bad.append((i, line, "not valid JSON"))
                continue
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                bad.append((i, line, f"not a result row ({exc.__class__.__name__}: {exc})"))
                continue
            old = self.rows.get(row.key)
            if old is not None and old != row and not (math.isnan(old.value) and math.isnan(row.value)
                                                       and old.error == row.error):
                self.conflicts.append((row.key, old, row))
            self.rows[row.key] = row
            good.append(line)
        again = "it is missing (the file is only read here)" if readonly else "its row is computed again"
        if torn:
            self.notes.append(f"{self.path}: dropped a torn last line (a run was killed while writing it); {again}")
        if bad:
            where = "; ".join(f"line {i}: {why}" for i, _, why in bad[:3]) + ("; ..." if len(bad) > 3 else "")
            kept = "" if readonly else f"; the lines were moved to {self.path.name}.corrupt"
            again = "missing (the file is only read here)" if readonly else "computed again"
            self.notes.append(f"{self.path}: skipped {len(bad)} corrupt line(s) ({where}); their rows are "
                              f"{again}{kept}")
        if readonly or not (torn or bad):
            return
        if bad:
            with open(self.path.with_name(self.path.name + ".corrupt"), "ab") as f:
                f.write(b"".join(line for _, line, _ in bad))
                f.flush()
                os.fsync(f.fileno())
            write_text_atomic(self.path, b"".join(good).decode("utf-8", errors="replace"))
        else:
            with open(self.path, "r+b") as f:
                f.truncate(len(data) - len(data.splitlines(keepends=True)[-1]))

    def __contains__(self, key: tuple[str, str, str]) -> bool:
        return key in self.rows

    def add(self, rows: Iterable[Row]) -> int:
        """Append rows not yet present; flush and fsync. Returns how many were new."""
        new = [r for r in rows if r.key not in self.rows]
        if not new:
            return 0
        if self._fh is None:
            raise ValueError(f"{self.path} was opened read-only")
        self._fh.write("".join(r.to_json() + "\n" for r in new))
        self._fh.flush()
        os.fsync(self._fh.fileno())
        for r in new:
            self.rows[r.key] = r
        return len(new)

    def discard(self, drop: Callable[[Row], bool]) -> int:
        """Remove the rows for which ``drop`` holds (what they were computed from changed): the log is
        rewritten atomically without them. Returns how many were removed."""
        gone = [k for k, r in self.rows.items() if drop(r)]
        if not gone:
            return 0
        if self._fh is None:
            raise ValueError(f"{self.path} was opened read-only")
        self._fh.close()
        for k in gone:
            del self.rows[k]
        write_text_atomic(self.path, "".join(r.to_json() + "\n" for r in self.rows.values()))
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()
        return len(gone)

    def close(self) -> None:
        if self._fh is not None:
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


def read_results_log(path: Path) -> list[Row]:
    """The rows of a results.jsonl without changing it (safe while a run appends; damaged lines are
    skipped, not repaired), sorted like results.csv."""
    return ResultStore(Path(path), readonly=True).sorted_rows()


def _fmt(v: float) -> str:
    if math.isnan(v):
        return "nan"
    return repr(float(v))


def read_results_csv(path: Path) -> list[Row]:
    """Parse a results.csv written by :meth:`ResultStore.write_csv` (an unparsable value reads as NaN).

    Raises:
        UsageError: naming the file when a column is missing.
    """
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = set(CSV_COLUMNS) - set(reader.fieldnames or [])
        if missing:
            raise UsageError(f"{path}: missing columns {', '.join(sorted(missing))}")
        return [Row(d["utterance"], d["speaker"] or "", d["system"], d["metric"], _parse_float(d["value"]),
                    d["error"] or "") for d in reader]


def _parse_float(text: str | None) -> float:
    try:
        return float(text) if text else math.nan
    except ValueError:
        return math.nan
