"""The metric stage for one (utterance, system) pair: align, resample once per rate, score.

Runs in worker processes: everything it needs travels in a small picklable :class:`PairJob`, and the
audio is read from the run folder, so results do not depend on which worker (or machine) computed them.
"""

from __future__ import annotations

import math
import traceback
from dataclasses import dataclass

import numpy as np

from bench.audio import estimate_lag, read_wav, resample, shift
from bench.stats import NOT_APPLICABLE
from bench.store import Row
from metrics import METRICS, Metric, MetricError


@dataclass(frozen=True)
class PairJob:
    """What a worker needs to score one output.

    Attributes:
        utterance, speaker, system: identifiers for the rows.
        reference_path, degraded_path: float32 wavs in the run folder, at the run's evaluation rate.
        metrics: metric names still to compute.
        bits: bits the system spent (None: not a codec); duration: reference seconds.
        want_bitrate, want_lag: whether those rows are still missing.
        align: compensate the residual lag; max_lag_ms: search window.
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
    align: bool
    max_lag_ms: float


_METRIC_CACHE: dict[str, Metric] = {}


def get_metric(name: str) -> Metric:
    """One instance per metric per process (ViSQOL's model loads once)."""
    if name not in _METRIC_CACHE:
        _METRIC_CACHE[name] = METRICS.get(name)()
    return _METRIC_CACHE[name]


def evaluate_pair(job: PairJob) -> list[Row]:
    """Score one pair; every failure becomes a NaN row with its reason, never an exception."""

    def row(metric: str, value: float, error: str = "") -> Row:
        return Row(job.utterance, job.speaker, job.system, metric, value, error)

    rows: list[Row] = []
    if job.want_bitrate:
        if job.bits is None:
            rows.append(row("bitrate_kbps", math.nan, f"{NOT_APPLICABLE}: {job.system} spends no bits"))
        else:
            rows.append(row("bitrate_kbps", job.bits / job.duration / 1000.0))
    try:
        ref, sr_r = read_wav(job.reference_path)
        deg, sr_d = read_wav(job.degraded_path)
        if sr_d != sr_r or len(ref) != len(deg):
            raise ValueError(f"{job.degraded_path}: expected {len(ref)} samples at {sr_r} Hz, "
                             f"got {len(deg)} at {sr_d} Hz")
    except Exception as exc:
        msg = f"cannot read audio: {exc}"
        return rows + [row(m, math.nan, msg) for m in (*job.metrics, *(["lag_samples"] if job.want_lag else []))]
    lag = estimate_lag(ref, deg, round(job.max_lag_ms * sr_r / 1000))
    if job.want_lag:
        rows.append(row("lag_samples", float(lag)))
    if job.align:
        deg = shift(deg, lag)
    by_rate: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for name in job.metrics:
        try:
            metric = get_metric(name)
            rate = metric.spec.sample_rate
            if rate not in by_rate:
                by_rate[rate] = (resample(ref, sr_r, rate), resample(deg, sr_r, rate))
            r, d = by_rate[rate]
            value = metric.compute(reference=r, degraded=d, sample_rate=rate)
            if not math.isfinite(value):
                raise MetricError(f"non-finite value {value}")
            rows.append(row(name, float(value)))
        except MetricError as exc:
            rows.append(row(name, math.nan, f"{name}: {exc}"))
        except Exception as exc:  # a library bug must not lose the run; keep the reason
            tb = traceback.format_exc(limit=2).strip().splitlines()[-1]
            rows.append(row(name, math.nan, f"{name}: {exc.__class__.__name__}: {exc} ({tb})"))
    return rows
