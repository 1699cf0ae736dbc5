"""``bench merge``: join run folders (usually ``--shard I/N`` parts of one run) into one run folder.

Refuses parts whose value-changing settings differ (:data:`bench.runner.VALUE_SETTINGS`), parts that
are not complete, and parts that overlap inconsistently: the same utterance with a different input
checksum, the same (utterance, system, metric) with a different value, or the same output file with
different bytes. Consistent overlap (e.g. a shard run twice) is allowed and kept once.

Each part is an input, checked as such and never changed: its rows against its own plan (utterances x
systems x metrics of its run.json; a short part is refused, or with ``allow_partial`` the merged folder is
``partial`` and lists the missing rows), its files against its rows (a missing reference or output is
refused), its ids as ``bench run`` checks them, no symbolic link anywhere in it, no row given twice with
different values; parts that ran different systems or metrics are refused unless ``allow_mixed``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import UsageError
from bench.runfolder.manifest import parse, read_manifest, write_manifest
from bench.runfolder.paths import REFERENCE_SYSTEM, RunDir, id_problem, system_dir
from bench.runfolder.results import SKIPPED_INPUT, ResultStore, Row
from bench.runfolder.summary import failed_rows, manifest_sha256, planned_rows, write_summary_csv
from bench.runfolder.wav import read_run_wav
from bench.runner import VALUE_SETTINGS, format_summary_table
from metrics import metric_directions


@dataclass
class MergeOutcome:
    """The merged folder, its size, and its failures."""

    out: Path
    n_items: int
    n_rows: int
    failures: list[Row]


def _load_run_json(rd: RunDir) -> dict[str, Any]:
    _refuse_links(rd.root)
    doc = read_manifest(rd.root).to_dict()
    if doc.get("status") != "complete":
        raise UsageError(f"{rd.root}: the run is not complete (status {doc.get('status')!r}); rerun its "
                         "`bench run` command to finish it first")
    return doc


def _refuse_links(root: Path) -> None:
    """A part with a symbolic link anywhere inside is refused: merge never follows a link out of a part."""
    links = [Path(d) / n for d, dirs, files in os.walk(root) for n in (*dirs, *files) if os.path.islink(Path(d) / n)]
    if links:
        shown = ", ".join(str(p.relative_to(root)) for p in links[:3]) + (" ..." if len(links) > 3 else "")
        raise UsageError(f"{root}: holds {len(links)} symbolic link(s) ({shown}); a run folder holds only the "
                         "files bench run wrote, so it is refused (copy the real files in, or rerun the part)")


def _check_ids(rd: RunDir, doc: dict[str, Any], rows: dict[tuple[str, str, str], Row]) -> None:
    """Utterance ids become file names in the merged folder: refuse the ones ``bench run`` refuses."""
    ids = [i.get("id") for i in doc["corpus"]["items"]] + [k[0] for k in rows]
    bad = {str(u): (id_problem(u) if isinstance(u, str) else "not a string") for u in ids}
    bad = {u: why for u, why in bad.items() if why}
    if bad:
        shown = "; ".join(f"{u!r}: {why}" for u, why in list(bad.items())[:3])
        raise UsageError(f"{rd.root}: {len(bad)} utterance id(s) cannot name files in a run folder ({shown})")


def _check_plans(parts: list[tuple[RunDir, dict[str, Any]]]) -> None:
    """Parts that ran different systems or metrics (their union would hold uneven rows)."""
    first_rd, first = parts[0]
    for rd, doc in parts[1:]:
        diffs = []
        for key in ("systems", "metrics"):
            a, b = set(first["config"].get(key, [])), set(doc["config"].get(key, []))
            if a != b:
                only_a, only_b = sorted(a - b), sorted(b - a)
                diffs.append(f"{key}: {', '.join(only_a) or 'nothing'} only in {first_rd.root}, "
                             f"{', '.join(only_b) or 'nothing'} only in {rd.root}")
        if diffs:
            raise UsageError(f"the runs evaluated different things ({'; '.join(diffs)}); rerun them alike, or "
                             "pass --allow-mixed to join them anyway (each row keeps its own systems and metrics)")


def _missing_rows(rd: RunDir, doc: dict[str, Any], rows: dict[tuple[str, str, str], Row]) -> list[tuple[str, str, str]]:
    """The rows a part's own run.json plans that its results.jsonl lacks."""
    return sorted(planned_rows(doc) - set(rows))


def _missing_files(rd: RunDir, doc: dict[str, Any]) -> list[str]:
    """The reference and output files (and their sidecars) a complete part must hold, that it lacks."""
    missing = []
    for item in doc["corpus"]["items"]:
        uid = item["id"]
        if "error" in item:
            continue
        for rel in (f"reference/{uid}.wav", f"reference/{uid}.json"):
            if not (rd.root / rel).is_file():
                missing.append(rel)
        for system in doc["config"].get("systems", []):
            if system == REFERENCE_SYSTEM:
                continue
            side = rd.root / "audio" / system_dir(system) / f"{uid}.json"
            if not side.is_file():
                missing.append(str(side.relative_to(rd.root)))
                continue
            try:
                failed = bool(json.loads(side.read_text()).get("error"))
            except (ValueError, AttributeError):
                failed = False
            if not failed and not side.with_suffix(".wav").is_file():
                missing.append(str(side.with_suffix(".wav").relative_to(rd.root)))
    return missing


def _check_settings(parts: list[tuple[RunDir, dict[str, Any]]]) -> None:
    first_rd, first = parts[0]
    ref = first["config"].get("value_settings", {})
    for rd, doc in parts[1:]:
        now = doc["config"].get("value_settings", {})
        diffs = [k for k in VALUE_SETTINGS if ref.get(k) != now.get(k)]
        if diffs:
            detail = "; ".join(f"{k}: {ref.get(k)} in {first_rd.root} but {now.get(k)} in {rd.root}" for k in diffs)
            raise UsageError(f"cannot merge runs with different value-changing settings ({detail})")


def _same_value(a: Row, b: Row) -> bool:
    return (math.isnan(a.value) and math.isnan(b.value)) or a.value == b.value


def _union_items(parts: list[tuple[RunDir, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    items: dict[str, dict[str, Any]] = {}
    where: dict[str, Path] = {}
    for rd, doc in parts:
        for item in doc["corpus"]["items"]:
            uid = item["id"]
            if uid in items and items[uid].get("sha256") != item.get("sha256"):
                raise UsageError(f"utterance {uid} has different inputs in {where[uid]} and {rd.root} "
                                 f"(sha256 {items[uid].get('sha256')} vs {item.get('sha256')})")
            items.setdefault(uid, item)
            where.setdefault(uid, rd.root)
    return dict(sorted(items.items()))


def _part_rows(rd: RunDir) -> dict[tuple[str, str, str], Row]:
    """A part's rows (its results.jsonl read, never repaired: a part is an input); a key given twice with
    different values is refused."""
    store = ResultStore(rd.results_jsonl, readonly=True)
    for note in store.notes:
        print(f"warning: {note}", file=sys.stderr)
    if store.conflicts:
        (u, s, m), a, b = store.conflicts[0]
        raise UsageError(f"{rd.results_jsonl}: {len(store.conflicts)} row(s) given twice with different values "
                         f"(e.g. {s} / {u} / {m}: {a.value} and {b.value}); the part is damaged, rerun it")
    return store.rows


def _union_rows(parts: list[tuple[RunDir, dict[str, Any]]],
                part_rows: list[dict[tuple[str, str, str], Row]]) -> list[Row]:
    rows: dict[tuple[str, str, str], Row] = {}
    where: dict[tuple[str, str, str], Path] = {}
    for (rd, _), found in zip(parts, part_rows):
        for key, row in found.items():
            if key in rows and not _same_value(rows[key], row):
                raise UsageError(f"{key[1]} / {key[0]} / {key[2]} is {rows[key].value} in {where[key]} but "
                                 f"{row.value} in {rd.root}: the runs overlap inconsistently")
            rows.setdefault(key, row)
            where.setdefault(key, rd.root)
    return sorted(rows.values(), key=lambda r: (r.system, r.utterance, r.metric))


def _same_audio(a: Path, b: Path) -> bool:
    """Equal samples and rate (the files' PEAK chunk holds a write time, so bytes may differ)."""
    (xa, ra), (xb, rb) = read_run_wav(a), read_run_wav(b)
    return ra == rb and np.array_equal(xa, xb)


def _copy_tree(src: Path, dst: Path, origin: dict[Path, Path]) -> None:
    """Copy every file under ``src`` to ``dst``; a file already copied from another part must be identical."""
    if not src.is_dir():
        return
    for f in sorted(p for p in src.rglob("*") if p.is_file() and not p.is_symlink()):
        target = dst / f.relative_to(src)
        if target in origin:
            if f.suffix == ".wav" and not _same_audio(f, target):
                raise UsageError(f"{f} and {origin[target]} differ: the runs overlap inconsistently")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, target, follow_symlinks=False)
        origin[target] = f


def _union_lists(lists: list[list[str]]) -> list[str]:
    return list(dict.fromkeys(x for lst in lists for x in lst))


def merge_runs(sources: list[Path], out: Path, *, quiet: bool = False, allow_partial: bool = False,
               allow_mixed: bool = False) -> MergeOutcome:
    """Join ``sources`` into a new run folder ``out``. Raises UsageError naming what is wrong.

    Args:
        allow_partial: merge parts that lack rows of their own plan; the merged folder is ``partial`` and its
            run.json lists the missing rows (``missing_rows``).
        allow_mixed: merge parts that ran different systems or metrics.
    """
    if not sources:
        raise UsageError("give at least one run folder to merge")
    rds = [RunDir(p) for p in sources]
    if len({rd.root.resolve() for rd in rds}) != len(rds):
        raise UsageError("the same run folder is given twice")
    out_rd = RunDir(out)
    if any(out_rd.root.resolve() == rd.root.resolve() for rd in rds):
        raise UsageError(f"--out {out} is one of the inputs; merge into a new folder")
    if out_rd.root.exists() and not out_rd.root.is_dir():
        raise UsageError(f"--out {out}: is a file, not a folder; merge into a new folder")
    if out_rd.root.exists() and any(out_rd.root.iterdir()):
        raise UsageError(f"--out {out} exists and is not empty; merge into a new folder")
    parts = [(rd, _load_run_json(rd)) for rd in rds]
    _check_settings(parts)
    if not allow_mixed:
        _check_plans(parts)
    part_rows = [_part_rows(rd) for rd, _ in parts]
    missing: list[tuple[str, str, str]] = []
    for (rd, doc), found in zip(parts, part_rows):
        _check_ids(rd, doc, found)
        files = _missing_files(rd, doc)
        if files:
            raise UsageError(f"{rd.root}: {len(files)} file(s) its run.json plans are missing ("
                             f"{', '.join(files[:3])}{' ...' if len(files) > 3 else ''}); rerun its `bench run` "
                             "command to make them again")
        short = _missing_rows(rd, doc, found)
        if short and not allow_partial:
            shown = "; ".join(f"{s or '-'} / {u} / {m}" for u, s, m in short[:3]) + (" ..." if len(short) > 3 else "")
            raise UsageError(f"{rd.root}: {len(short)} of the {len(planned_rows(doc))} rows its run.json plans are "
                             f"missing from results.jsonl ({shown}); rerun its `bench run` command to compute them, "
                             "or pass --allow-partial to merge into a folder marked partial")
        missing += short
    items = _union_items(parts)
    rows = _union_rows(parts, part_rows)
    have = {r.key for r in rows}
    missing = sorted({k for k in missing if k not in have})

    out_rd.create()
    origin: dict[Path, Path] = {}
    for rd, _ in parts:
        _copy_tree(rd.root / "reference", out_rd.root / "reference", origin)
        _copy_tree(rd.root / "audio", out_rd.root / "audio", origin)
    store = ResultStore(out_rd.results_jsonl)
    try:
        store.add(rows)
    finally:
        store.close()
    store.write_csv(out_rd.results_csv)
    write_summary_csv(out_rd.summary_csv, rows, metric_directions(r.metric for r in rows))
    failures = failed_rows(rows)
    doc = _merged_run_json(parts, list(items.values()), failures)
    if missing:
        doc["status"] = "partial"
        doc["missing_rows"] = [{"utterance": u, "system": s, "metric": m} for u, s, m in missing]
    write_manifest(out_rd.root, parse(doc, str(out_rd.run_json)))
    if missing:
        print(f"warning: {len(missing)} planned row(s) are missing; {out_rd.root} is marked partial "
              "(run.json missing_rows lists them)", file=sys.stderr)
    if not quiet:
        print(format_summary_table(out_rd.summary_csv, doc["config"]["systems"], doc["config"]["metrics"]))
        print(f"\nmerged {len(parts)} run(s): {len(items)} utterances, {len(rows)} rows -> {out_rd.root}")
    return MergeOutcome(out_rd.root, len(items), len(rows), failures)


def _merged_alignment(records: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """One system's alignment over the parts: each part (shard) estimated its own lag from its utterances.

    Equal lags: the part with the weakest peak speaks for all (n summed). Different lags: flagged.
    """
    recs = [r for r in records if r]
    if len(recs) <= 1:
        return recs[0] if recs else None
    out = {**min(recs, key=lambda r: abs(r["peak"])), "n": sum(int(r["n"]) for r in recs), "parts": recs}
    if len({r["lag"] for r in recs}) > 1:
        out["flag"] = "lags differ between merged parts: " + ", ".join(str(r["lag"]) for r in recs)
    return out


def _merged_run_json(parts: list[tuple[RunDir, dict[str, Any]]], items: list[dict[str, Any]],
                     failures: list[Row]) -> dict[str, Any]:
    docs = [doc for _, doc in parts]
    doc = json.loads(json.dumps(docs[0]))
    config = doc["config"]
    config["systems"] = _union_lists([d["config"].get("systems", []) for d in docs])
    config["metrics"] = _union_lists([d["config"].get("metrics", []) for d in docs])
    config["shard"] = None
    config["merged_from"] = [{"path": str(rd.root.resolve()), "shard": d["config"].get("shard"),
                              "created": d.get("created"), "finished": d.get("finished"),
                              "git_revision": d.get("git_revision"), "machine": d.get("machine")}
                             for rd, d in parts]
    doc["systems"] = {k: v for d in docs for k, v in d.get("systems", {}).items()}
    for name, info in doc["systems"].items():
        info["alignment"] = _merged_alignment([(d.get("systems", {}).get(name) or {}).get("alignment") for d in docs])
    doc["metrics"] = {k: v for d in docs for k, v in d.get("metrics", {}).items()}
    doc["created"] = min(d["created"] for d in docs if d.get("created"))
    doc["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    doc["status"] = "complete"
    doc["command"] = sys.argv
    doc["corpus"] = {**doc["corpus"], "n": len(items), "manifest_sha256": manifest_sha256(items), "items": items}
    doc["skipped_inputs"] = list({d["utterance"]: d for doc_ in docs for d in doc_.get("skipped_inputs") or []}
                                 .values())
    doc["failures"] = [{"utterance": r.utterance, "system": r.system, "metric": r.metric, "error": r.error}
                       for r in failures if r.metric != SKIPPED_INPUT]
    return doc
