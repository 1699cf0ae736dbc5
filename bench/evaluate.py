"""The metric stage for one (utterance, system) pair: align (bench.alignment), resample once per rate, score.

Runs in worker processes: everything it needs travels in a small picklable :class:`PairJob`, and the
audio is read from the run folder, so results do not depend on which worker (or machine) computed them.
"""

from __future__ import annotations

import math
import traceback
from dataclasses import dataclass

import numpy as np

from bench.alignment import estimate_lag, shift
from bench.audio import SAMPLE_RATE, read_wav, resample
from bench.stats import NOT_APPLICABLE
from bench.store import Row
from metrics import METRICS, Metric, MetricError


@dataclass(frozen=True)
class PairJob:
    """What a worker needs to score one output.

    Attributes:
        utterance, speaker, system: identifiers for the rows.
        reference_path, degraded_path: 48 kHz float32 wavs in the run folder.
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
        if sr_r != SAMPLE_RATE or sr_d != SAMPLE_RATE or len(ref) != len(deg):
            raise ValueError(f"{job.degraded_path}: expected {len(ref)} samples at {SAMPLE_RATE} Hz, "
                             f"got {len(deg)} at {sr_d} Hz")
    except Exception as exc:
        msg = f"cannot read audio: {exc}"
        names = (*job.metrics, *(s for _, s in job.raw), *(["lag_samples"] if job.want_lag else []))
        return rows + [row(m, math.nan, msg) for m in names]
    lag = estimate_lag(ref, deg, job.max_lag) if job.lag is None else job.lag
    if job.want_lag:
        rows.append(row("lag_samples", float(job.prior_lag + lag)))
    aligned = _score(job.metrics, ref, shift(deg, lag))
    rows.extend(row(name, value, error) for name, (value, error) in aligned.items())
    raw_names = [m for m, _ in job.raw]
    # unshifted, the raw values are the aligned ones: computed once
    raw = {m: aligned[m] for m in raw_names if m in aligned} if lag == 0 else {}
    raw.update(_score(tuple(m for m in raw_names if m not in raw), ref, deg))
    rows.extend(row(stored, raw[m][0], raw[m][1].replace(m, stored, 1)) for m, stored in job.raw)
    return rows


def _score(names: tuple[str, ...], ref: np.ndarray, deg: np.ndarray) -> dict[str, tuple[float, str]]:
    """Each metric on one 48 kHz pair: name -> (value, "") or (NaN, reason); resampled once per rate."""
    out: dict[str, tuple[float, str]] = {}
    by_rate: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for name in names:
        try:
            metric = get_metric(name)
            rate = metric.spec.sample_rate
            if rate not in by_rate:
                by_rate[rate] = (resample(ref, SAMPLE_RATE, rate), resample(deg, SAMPLE_RATE, rate))
            r, d = by_rate[rate]
            value = metric.compute(reference=r, degraded=d, sample_rate=rate)
            if not math.isfinite(value):
                raise MetricError(f"non-finite value {value}")
            out[name] = (float(value), "")
        except MetricError as exc:
            out[name] = (math.nan, f"{name}: {exc}")
        except Exception as exc:  # a library bug must not lose the run; keep the reason
            tb = traceback.format_exc(limit=2).strip().splitlines()[-1]
            out[name] = (math.nan, f"{name}: {exc.__class__.__name__}: {exc} ({tb})")
    return out
