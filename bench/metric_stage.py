"""The metric stage for one (utterance, system) pair of a run folder, scored by :func:`bench.scoring.score_pair`.

Runs in worker processes: everything it needs travels in a small picklable :class:`PairJob`, and the
audio is read from the run folder, so results do not depend on which worker (or machine) computed them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from bench.alignment import AlignPolicy
from bench.errors import RETRY, InputError
from bench.isolation import CrashOutcome, WorkerCrash
from bench.runfolder.results import Row
from bench.runfolder.wav import read_run_wav
from bench.scoring import LAG_ROW, get_metric, needs_reference, score_pair
from bench.stats import NOT_APPLICABLE

__all__ = ["PairJob", "after_crash", "evaluate_pair", "get_metric"]


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


#: a job without a lag searches its own (``--align utterance``) within its ``max_lag``
_UTTERANCE = AlignPolicy("utterance")


def evaluate_pair(job: PairJob) -> list[Row]:
    """Score one pair by :func:`bench.scoring.score_pair`; every failure becomes a NaN row with its reason,
    never an exception."""

    def row(metric: str, value: float, error: str = "") -> Row:
        return Row(job.utterance, job.speaker, job.system, metric, value, error)

    rows = _bitrate_rows(job)
    alone = tuple(m for m in job.metrics if not needs_reference(m))
    intrusive = (*(m for m in job.metrics if m not in alone), *(s for _, s in job.raw),
                 *([LAG_ROW] if job.want_lag else []))
    try:
        deg, sr = read_run_wav(job.degraded_path)
    except InputError as exc:
        return rows + [row(m, math.nan, f"cannot read audio: {exc}") for m in (*alone, *intrusive)]
    ref = None
    if intrusive:
        try:
            ref, sr_r = read_run_wav(job.reference_path)
            if sr != sr_r or len(ref) != len(deg):
                raise ValueError(f"{job.degraded_path}: expected {len(ref)} samples at {sr_r} Hz, "
                                 f"got {len(deg)} at {sr} Hz")
        except (InputError, ValueError) as exc:  # the metrics that need no reference are still scored
            scored = score_pair(None, deg, sr, alone, text=job.text, checkpoints=job.checkpoints) if alone else None
            return (rows + [row(m, v, e) for m, (v, e) in (scored.values.items() if scored else ())]
                    + [row(m, math.nan, f"cannot read audio: {exc}") for m in intrusive])
    # the run's folder holds both at the evaluation rate and of one length: nothing resampled or matched here
    scored = score_pair(ref, deg, sr, job.metrics if ref is not None else alone,
                        policy=_UTTERANCE, lag=job.lag, max_lag=job.max_lag, raw=job.raw, prior_lag=job.prior_lag, text=job.text,
                        checkpoints=job.checkpoints)
    return rows + [row(m, v, e) for m, (v, e) in scored.values.items() if m != LAG_ROW or job.want_lag]


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
