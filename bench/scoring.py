"""The scoring recipe for one reference/output pair, shared by a run's metric stage and ``bench.evaluate``.

One function, :func:`score_pair`: resample both signals to the evaluation rate, match the output's length
to the reference, find or take the lag, then score every metric at its own rate: metrics that need no
reference on the output as written (never shifted), the others on the lag-compensated output, and the
waveform metrics of :data:`bench.runfolder.results.RAW_METRICS` also on the output before the lag.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.alignment import AlignPolicy, align_arrays, estimate_lag, match_length, shift
from bench.audio import resample
from bench.errors import RETRY, environmental
from bench.quiet import Captured, captured_stdout
from bench.runfolder.results import raw_rows
from metrics import METRICS, Metric, MetricError

#: the row that holds the total lag compensated, in samples at the evaluation rate
LAG_ROW = "lag_samples"

_METRIC_CACHE: dict[str, Metric] = {}


def get_metric(name: str, checkpoints: tuple[tuple[str, str], ...] = ()) -> Metric:
    """One instance per metric (and ``--checkpoint`` set) per process (ViSQOL's model loads once)."""
    key = f"{name}\0{checkpoints}" if checkpoints else name
    if key not in _METRIC_CACHE:
        _METRIC_CACHE[key] = METRICS.get(name).create({k: Path(v) for k, v in checkpoints})
    return _METRIC_CACHE[key]


def needs_reference(name: str) -> bool:
    """Whether ``name`` compares with a reference (True also when it cannot be built: it fails when scored)."""
    try:
        return get_metric(name).spec.needs_reference
    except (ImportError, KeyError, AttributeError):
        return True


@dataclass(frozen=True)
class ScoredPair:
    """What :func:`score_pair` found.

    Attributes:
        values: row name -> ``(value, "")`` or ``(NaN, reason)``, in the order a run stores them: the metrics
            that need no reference, ``lag_samples``, the aligned metrics, then the unaligned (``si_sdr_raw``).
        lag: the lag compensated at the metric stage (samples at the evaluation rate; 0 without a reference).
        offset: the lag removed by the length match (0 when the lengths agreed).
        peak: the normalised correlation at the lag when it was searched as a one-pair system, else None.
    """

    values: dict[str, tuple[float, str]] = field(default_factory=dict)
    lag: int = 0
    offset: int = 0
    peak: float | None = None


def score_pair(reference: np.ndarray | None, output: np.ndarray, sample_rate: int, metrics: Iterable[str], *,
               rate: int | None = None, policy: AlignPolicy | None = None, lag: int | None = None,
               max_lag: int | None = None, raw: Iterable[tuple[str, str]] | None = None, prior_lag: int = 0,
               text: str = "",
               checkpoints: tuple[tuple[str, str], ...] = ()) -> ScoredPair:
    """Score ``output`` against ``reference`` as a run does.

    Args:
        reference, output: ``[T]`` float signals at ``sample_rate``; ``reference`` None scores only the
            metrics that need none (and gives no lag row).
        metrics: canonical metric names.
        rate: the evaluation rate both are resampled to (None: ``sample_rate``, nothing resampled).
        policy: ``--align``/``--max-lag-ms``: the length match's search window and, when ``lag`` is None,
            how the lag is found (``system``: this pair as a one-utterance system; ``utterance``: its own
            highest positive peak; ``none``: 0). Default: ``AlignPolicy()``.
        lag: the lag to compensate (a run's system lag), or None to find it by ``policy``.
        max_lag: the lag search window in samples at ``rate`` (None: the policy's).
        raw: ``(metric, stored name)`` also scored unaligned (None: every requested metric of RAW_METRICS).
        prior_lag: lag already removed before (the ``files:`` adapter's offset in a run), added to ``lag_samples``.
        text, checkpoints: the transcript and ``--checkpoint`` pairs, for metrics that use them.
    Returns:
        a :class:`ScoredPair`; a metric that fails gives NaN and its reason, never an exception.
    Raises:
        ValueError: the output's length differs from the reference's by more than the length match allows.
    """
    rate = rate or sample_rate
    policy = policy or AlignPolicy()
    names = tuple(metrics)
    raw = raw_rows(names) if raw is None else tuple(raw)
    out = resample(np.asarray(output, dtype=np.float32), sample_rate, rate)
    alone = tuple(m for m in names if not needs_reference(m))
    scored = ScoredPair(values=score_metrics(alone, None, out, rate, text, checkpoints) if alone else {})
    if reference is None:
        if len(alone) < len(names) or raw:
            raise ValueError("score_pair: metrics that need a reference were asked for without one")
        return scored
    ref = resample(np.asarray(reference, dtype=np.float32), sample_rate, rate)
    out, offset = match_length(ref, out, policy, rate)
    peak = None
    silent = not np.any(out)  # no lag can be found in silence: none is applied, and the lag is NaN
    if silent:
        lag = 0
    elif lag is None:
        window = policy.window(rate) if max_lag is None else max_lag
        if policy.mode == "system":
            found = align_arrays({"pair": (ref, out)}, window, "system")
            lag, peak = found.lag, found.peak
        else:
            lag = estimate_lag(ref, out, window) if policy.mode == "utterance" else 0
    values = dict(scored.values)
    values[LAG_ROW] = ((math.nan, f"{LAG_ROW}: silent output (every sample is zero): no lag to find") if silent
                       else (float(prior_lag + offset + lag), ""))
    intrusive = tuple(m for m in names if m not in alone)
    aligned = score_metrics(intrusive, ref, shift(out, lag), rate, text, checkpoints)
    values.update(aligned)
    raw_names = [m for m, _ in raw]
    # unshifted, the raw values are the aligned ones: computed once
    unaligned = {m: aligned[m] for m in raw_names if m in aligned} if lag == 0 else {}
    unaligned.update(score_metrics(tuple(m for m in raw_names if m not in unaligned), ref, out, rate, text,
                                   checkpoints))
    values.update({stored: (unaligned[m][0], unaligned[m][1].replace(m, stored, 1)) for m, stored in raw})
    return ScoredPair(values, lag, offset, peak)


def _rate_of(name: str) -> int:
    try:
        return METRICS.get(name).spec.sample_rate
    except Exception:  # noqa: BLE001 - reported when the metric is computed
        return 0


def score_metrics(names: tuple[str, ...], ref: np.ndarray | None, deg: np.ndarray, sr: int, text: str = "",
                  checkpoints: tuple[tuple[str, str], ...] = ()) -> dict[str, tuple[float, str]]:
    """Each metric on one output ``[T]`` at ``sr`` and its reference (None for metrics that need none):
    name -> (value, "") or (NaN, reason); resampled once per metric rate. ``text`` and ``checkpoints``
    reach the metrics that use them."""
    out: dict[str, tuple[float, str]] = {}
    by_rate: dict[int, tuple[np.ndarray | None, np.ndarray]] = {}
    for name in sorted(names, key=_rate_of):  # one rate at a time: one resampled copy held, not four
        printed = Captured()  # what the library prints goes into the reason, never to stdout
        try:
            metric = get_metric(name, checkpoints)
            rate = metric.spec.sample_rate
            if rate not in by_rate:
                by_rate.clear()
                by_rate[rate] = (None if ref is None else resample(ref, sr, rate), resample(deg, sr, rate))
            r, d = by_rate[rate]
            with captured_stdout() as printed:
                extra = {"text": text} if metric.uses_text else {}
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
