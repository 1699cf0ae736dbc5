"""summary.csv and the checksums derived from a run's rows and corpus (see docs/run_format.md).

Shared by the runner and ``bench merge``, which write the same files from the same rows.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.atomic import write_text_atomic
from bench.runfolder.results import EXTRA_ROWS, RAW_METRICS, SKIPPED_INPUT, Row
from bench.stats import NOT_APPLICABLE, summarize

#: the pseudo-system that scores references with the metrics that need none (bench.runfolder.paths.REFERENCE_SYSTEM)
_REFERENCE = "reference"


def failed_rows(rows: list[Row]) -> list[Row]:
    """Rows whose value could not be computed (not-applicable rows, e.g. bitrate of an anchor, excluded)."""
    return [r for r in rows if math.isnan(r.value) and not r.error.startswith(NOT_APPLICABLE)]


def planned_rows(doc: dict[str, Any]) -> set[tuple[str, str, str]]:
    """The (utterance, system, metric) keys a run.json plans: every utterance the corpus accepted x every
    system in ``config.systems`` x every metric recorded in ``metrics`` (raw twins included) and the extra rows;
    the reference's own rows for metrics that need no reference; one ``skipped_input`` row per rejected input."""
    metrics = doc.get("metrics") or {}
    systems = (doc.get("config") or {}).get("systems") or []
    alone = [m for m, spec in metrics.items() if isinstance(spec, dict) and spec.get("needs_reference") is False]
    keys: set[tuple[str, str, str]] = set()
    for item in (doc.get("corpus") or {}).get("items") or []:
        uid = item.get("id")
        if "error" in item:
            keys.add((uid, "", SKIPPED_INPUT))
            continue
        keys.update((uid, s, m) for s in systems for m in (*metrics, *EXTRA_ROWS))
        keys.update((uid, _REFERENCE, m) for m in alone)
    return keys


def manifest_sha256(items: list[dict[str, Any]]) -> str:
    """Checksum of a corpus selection: its (id, sha256) pairs in order."""
    return hashlib.sha256(json.dumps([(i["id"], i.get("sha256")) for i in items]).encode()).hexdigest()


def write_summary_csv(path: Path, rows: list[Row], directions: Mapping[str, bool]) -> None:
    """summary.csv from result rows (see docs/run_format.md).

    ``directions``: metric -> whether higher is better (``metrics.metric_directions``), for the
    ``higher_is_better`` column; an unaligned twin (``si_sdr_raw``) takes its metric's; others stay empty.
    """
    summaries = summarize((r.system, r.metric, r.value, r.error) for r in rows if r.metric != SKIPPED_INPUT)
    base = {raw: m for m, raw in RAW_METRICS.items()}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["system", "metric", "n", "n_failed", "mean", "std", "ci95_low", "ci95_high", "higher_is_better"])
    for s in summaries:
        direction = directions.get(base.get(s.metric, s.metric))
        hib = "" if direction is None else "true" if direction else "false"
        w.writerow([s.system, s.metric, s.n, s.n_failed, *(repr(v) for v in (s.mean, s.std, s.ci95_low, s.ci95_high)),
                    hib])
    write_text_atomic(path, buf.getvalue())
