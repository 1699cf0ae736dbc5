"""The metric stage for one (utterance, system) pair: align (bench.alignment), resample once per rate, score.

Runs in worker processes: everything it needs travels in a small picklable :class:`PairJob`, and the
audio is read from the run folder, so results do not depend on which worker (or machine) computed them.
"""

from __future__ import annotations

import math
import traceback
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bench.alignment import estimate_lag, shift
from bench.audio import resample
from bench.errors import RETRY, InputError, environmental
from bench.isolation import CrashOutcome, WorkerCrash
from bench.quiet import Captured, captured_stdout
from bench.runfolder.wav import read_run_wav
from bench.stats import NOT_APPLICABLE
from bench.store import Row
from metrics import METRICS, Metric, MetricError


@dataclass(frozen=True)
class PairJob:
    """What a worker needs to score one output.

    Attributes:
        utterance, speaker, system: identifiers for the rows.
        reference_path, degraded_path: float32 wavs in the run folder, at the run's evaluation rate.
        metrics: metric names still to compute (aligned).
        bits: bits the system spent (None: not a codec); duration: reference seconds.
        want_bitrate, want_lag: whether those rows are still missing.
        lag: the lag to compensate (``--align system``: the system's; ``none``: 0), or None to search this
            pair's own within ``max_lag`` samples (``--align utterance``).
        max_lag: search window in samples (only with ``lag`` None).
        prior_lag: lag the system already removed itself (the ``files:`` adapter's offset), added to the
            ``lag_samples`` row, which holds the total compensated.
        raw: ``(metric, stored name)`` pairs also scored on the output as stored, without the lag
            (``si_sdr`` -> ``si_sdr_raw``).
        crashed: why a worker died on the job this one was split from ("" for an original job).
        text: the utterance's corpus transcript ("" when it has none), for metrics with ``uses_text``.
        checkpoints: the run's ``--checkpoint`` ``(name, path)`` pairs (metrics with weights look theirs up).
    """

    utterance: str
    speaker: str
    system: str
    reference_path: str
    degraded_path: str
    metrics: tuple[str, ...]
    bits: float | None
    duration: float
    want_bitrate: bool
    want_lag: bool
    lag: int | None
    max_lag: int
    prior_lag: int = 0
    raw: tuple[tuple[str, str], ...] = ()
    crashed: str = ""
    text: str = ""
    checkpoints: tuple[tuple[str, str], ...] = ()


_METRIC_CACHE: dict[str, Metric] = {}


def get_metric(name: str, checkpoints: tuple[tuple[str, str], ...] = ()) -> Metric:
    """One instance per metric (and ``--checkpoint`` set) per process (ViSQOL's model loads once)."""
    key = f"{name}\0{checkpoints}" if checkpoints else name
    if key not in _METRIC_CACHE:
        _METRIC_CACHE[key] = METRICS.get(name).create({k: Path(v) for k, v in checkpoints})
    return _METRIC_CACHE[key]


def _rate_of(name: str) -> int:
    try:
        return METRICS.get(name).spec.sample_rate
    except Exception:  # noqa: BLE001 - reported when the metric is computed
        return 0


def evaluate_pair(job: PairJob) -> list[Row]:
    """Score one pair; every failure becomes a NaN row with its reason, never an exception."""

    def row(metric: str, value: float, error: str = "") -> Row:
        return Row(job.utterance, job.speaker, job.system, metric, value, error)

    rows = _bitrate_rows(job)
    scored_alone = tuple(m for m in job.metrics if not _needs_reference(m))
    if scored_alone:  # no reference, no alignment: the output as the listener hears it
        rows += _score_alone(job, scored_alone, row)
    metrics = tuple(m for m in job.metrics if m not in scored_alone)
    if not metrics and not job.raw and not job.want_lag:
        return rows
    try:
        ref, sr_r = read_run_wav(job.reference_path)
        deg, sr_d = read_run_wav(job.degraded_path)
        if sr_d != sr_r or len(ref) != len(deg):
            raise ValueError(f"{job.degraded_path}: expected {len(ref)} samples at {sr_r} Hz, "
                             f"got {len(deg)} at {sr_d} Hz")
    except (InputError, ValueError) as exc:
        msg = f"cannot read audio: {exc}"
        names = (*metrics, *(s for _, s in job.raw), *(["lag_samples"] if job.want_lag else []))
        return rows + [row(m, math.nan, msg) for m in names]
    silent = not np.any(deg)
    lag = 0 if silent else estimate_lag(ref, deg, job.max_lag) if job.lag is None else job.lag
    if job.want_lag:
        rows.append(row("lag_samples", math.nan, "silent output (every sample is zero): no lag to find") if silent
                    else row("lag_samples", float(job.prior_lag + lag)))
    aligned = _score(metrics, ref, shift(deg, lag), sr_r, job)
    rows.extend(row(name, value, error) for name, (value, error) in aligned.items())
    raw_names = [m for m, _ in job.raw]
    # unshifted, the raw values are the aligned ones: computed once
    raw = {m: aligned[m] for m in raw_names if m in aligned} if lag == 0 else {}
    raw.update(_score(tuple(m for m in raw_names if m not in raw), ref, deg, sr_r, job))
    rows.extend(row(stored, raw[m][0], raw[m][1].replace(m, stored, 1)) for m, stored in job.raw)
    return rows


def _needs_reference(name: str) -> bool:
    try:
        return get_metric(name).spec.needs_reference
    except (ImportError, KeyError, AttributeError):  # fails below, with its reason, on the intrusive path
        return True


def _score_alone(job: PairJob, names: tuple[str, ...], row) -> list[Row]:
    """Metrics with ``needs_reference=False``: only the output is read, as written (never shifted)."""
    try:
        deg, sr = read_run_wav(job.degraded_path)
    except InputError as exc:
        return [row(m, math.nan, f"cannot read audio: {exc}") for m in names]
    return [row(name, value, error) for name, (value, error) in _score(names, None, deg, sr, job).items()]


def _score(names: tuple[str, ...], ref: np.ndarray | None, deg: np.ndarray, sr: int,
           job: PairJob | None = None) -> dict[str, tuple[float, str]]:
    """Each metric on one output at ``sr`` (the run's evaluation rate) and its reference (None for metrics
    that need none): name -> (value, "") or (NaN, reason); resampled once per metric rate. ``job`` gives
    the transcript and checkpoints (None: neither)."""
    out: dict[str, tuple[float, str]] = {}
    by_rate: dict[int, tuple[np.ndarray | None, np.ndarray]] = {}
    for name in sorted(names, key=_rate_of):  # one rate at a time: one resampled copy held, not four
        printed = Captured()  # what the library prints goes into the reason, never to stdout
        try:
            metric = get_metric(name, job.checkpoints if job else ())
            rate = metric.spec.sample_rate
            if rate not in by_rate:
                by_rate.clear()
                by_rate[rate] = (None if ref is None else resample(ref, sr, rate), resample(deg, sr, rate))
            r, d = by_rate[rate]
            with captured_stdout() as printed:
                extra = {"text": job.text if job else ""} if metric.uses_text else {}
                value = metric.compute(reference=r, degraded=d, sample_rate=rate, **extra)
            if not math.isfinite(value):
                raise MetricError(f"non-finite value {value}")
            out[name] = (float(value), "")
        except MetricError as exc:
            out[name] = (math.nan, f"{name}: {exc}{_printed(printed)}")
        except Exception as exc:  # noqa: BLE001 - a library bug must not lose the run; keep the reason
            tb = traceback.format_exc(limit=2).strip().splitlines()[-1]
            retry = RETRY if environmental(exc) else ""  # out of memory, I/O: not stored, computed next run
            out[name] = (math.nan, f"{retry}{name}: {exc.__class__.__name__}: {exc} ({tb}){_printed(printed)}")
    return out


def _printed(captured: Captured) -> str:
    """The first line a library printed while failing, for the error message ("" if nothing)."""
    lines = [ln.strip() for ln in captured.text.splitlines() if ln.strip()]
    return f" (printed: {lines[0][:200]})" if lines else ""


def _bitrate_rows(job: PairJob) -> list[Row]:
    if not job.want_bitrate:
        return []
    if job.bits is None:
        return [Row(job.utterance, job.speaker, job.system, "bitrate_kbps", math.nan,
                    f"{NOT_APPLICABLE}: {job.system} spends no bits")]
    return [Row(job.utterance, job.speaker, job.system, "bitrate_kbps", job.bits / job.duration / 1000.0)]


def after_crash(job: PairJob, crash: WorkerCrash) -> CrashOutcome:
    """A worker died scoring ``job``: split it into one job per row, or give the single row NaN with the reason.

    So a metric that crashes its process costs exactly its own row; the others are computed again
    in fresh workers.
    """
    reason = f"worker process {crash.reason} while scoring {job.degraded_path}"
    none = {"metrics": (), "raw": (), "want_lag": False, "want_bitrate": False, "crashed": reason}
    parts = ([replace(job, **{**none, "metrics": (m,)}) for m in job.metrics]
             + [replace(job, **{**none, "raw": (r,)}) for r in job.raw]
             + ([replace(job, **{**none, "want_lag": True})] if job.want_lag else []))
    if len(parts) > 1:
        parts[0] = replace(parts[0], want_bitrate=job.want_bitrate)
        return CrashOutcome(retry=parts)
    names = [*job.metrics, *(s for _, s in job.raw), *(["lag_samples"] if job.want_lag else [])]
    retry = RETRY if crash.reason.startswith("killed by SIGKILL") else ""  # the OOM killer or a user: not stored
    rows = _bitrate_rows(job) + [Row(job.utterance, job.speaker, job.system, n, math.nan, f"{retry}{n}: {reason}")
                                 for n in names]
    return CrashOutcome(result=rows)
