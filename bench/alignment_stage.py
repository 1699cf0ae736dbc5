"""The alignment stage of a run: each system's one lag, found over its output files, kept in the run folder.

The arithmetic (correlations, the lag estimate, the policy) is :mod:`bench.alignment`; this module runs
the system-level search over a run's pairs through the executor and writes ``alignment/<sysdir>.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.alignment import (
    AlignPolicy,
    Correlation,
    SystemLag,
    coarse_correlation,
    fine_correlation,
    fine_lags,
    system_lag,
)
from bench.atomic import write_text_atomic
from bench.progress import Progress
from bench.runfolder.results import RAW_METRICS
from bench.runfolder.wav import read_run_wav

if TYPE_CHECKING:
    from bench.executors import Executor
    from bench.runfolder.paths import RunDir


def explain_flag(system: str, d: dict[str, Any]) -> str:
    """One sentence for a flagged system (terminal summary and report)."""
    return (f"{system}: correlation peak {d['peak']:+.2f} at lag {d['lag']} samples ({d['flag']}); its waveform "
            f"metrics ({', '.join(RAW_METRICS)}) mean little")



@dataclass(frozen=True)
class CorrelationJob:
    """A pair to correlate in a worker: the system, paths of the reference and output in the run folder
    (at the evaluation rate), the window, and the lags of the fine pass (None: the coarse pass)."""

    system: str
    utterance: str
    reference_path: str
    degraded_path: str
    max_lag: int
    lags: tuple[int, ...] | None = None


def correlate_files(job: CorrelationJob) -> Correlation | np.ndarray | str:
    """Worker side of the system search: the pair's coarse or fine correlation, or why it could not be read."""
    try:
        ref, _ = read_run_wav(job.reference_path)
        deg, _ = read_run_wav(job.degraded_path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file: left out of the sum, the metric job says why
        return f"cannot read audio: {exc}"
    if job.lags is None:
        return coarse_correlation(ref, deg, job.max_lag)
    return fine_correlation(ref, deg, np.asarray(job.lags))


def system_lags(rd: RunDir, outputs: dict[str, list[tuple[str, str, str]]], policy: AlignPolicy,
                executor: Executor, quiet: bool = False) -> dict[str, SystemLag]:
    """Each system's lag, estimated once per run folder and kept in ``alignment/<sysdir>.json``.

    Args:
        outputs: system -> every good output as ``(utterance, reference wav, output wav)``; the systems
            whose lag is needed now (those with pairs still to score).
    Returns:
        system -> its lag (none under ``--align none``). A stored lag is reused as it is, so the rows of a
        killed run, finished later, are scored with the lag of the first attempt; it is written before any
        row of the system, so a run killed earlier recomputes it from the same outputs.
    """
    if policy.mode == "none":
        return {}
    lags: dict[str, SystemLag] = {}
    todo: list[CorrelationJob] = []
    for name, items in outputs.items():
        path = rd.alignment_json(name)
        if path.exists():
            lags[name] = SystemLag.from_dict(json.loads(path.read_text()))
        elif items:
            todo += [CorrelationJob(name, u, r, d, policy.max_lag) for u, r, d in items]
    if not todo:
        return lags
    coarse = _correlate_all(executor, todo, "alignment", quiet)
    fine_jobs, windows = [], {}
    for name in dict.fromkeys(j.system for j in todo):
        if coarse.get(name):
            windows[name] = fine_lags(coarse[name], policy.max_lag)
            fine_jobs += [replace(j, lags=tuple(int(v) for v in windows[name]))
                          for j in todo if j.system == name and j.utterance in coarse[name]]
    fine = _correlate_all(executor, fine_jobs, "alignment (fine)", quiet)
    for name, window in windows.items():
        # a pair unreadable in one pass is left out of both
        ok = {u: c for u, c in coarse[name].items() if u in fine.get(name, {})}
        if ok:
            lags[name] = system_lag(ok, fine[name], window, policy.mode, policy.max_lag)
            write_text_atomic(rd.alignment_json(name), json.dumps(lags[name].to_dict(), indent=1))
    return lags


def _correlate_all(executor: Executor, jobs: list[CorrelationJob], label: str, quiet: bool) -> dict[str, dict[str, Any]]:
    """system -> utterance -> result of :func:`correlate_files` (unreadable pairs left out)."""
    found: dict[str, dict[str, Any]] = {}
    with Progress(len(jobs), label, quiet=quiet) as prog:
        for job, result in executor.map_unordered(correlate_files, jobs):
            if not isinstance(result, str):
                found.setdefault(job.system, {})[job.utterance] = result
            prog.update()
    return found
