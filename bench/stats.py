"""Summary statistics: mean, std and a t-distribution 95% confidence interval of the mean."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import stats

NOT_APPLICABLE = "n/a"


@dataclass
class Summary:
    """Statistics of one (system, metric). CI bounds are NaN when n < 2."""

    system: str
    metric: str
    n: int
    n_failed: int
    mean: float
    std: float
    ci95_low: float
    ci95_high: float


def mean_ci(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float, float]:
    """(mean, std ddof=1, ci_low, ci_high) of finite values; NaN where undefined."""
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    if n == 0:
        return (math.nan,) * 4
    mean = float(v.mean())
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    std = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * std / math.sqrt(n))
    return mean, std, mean - half, mean + half


def summarize(rows: Iterable[tuple[str, str, float, str]]) -> list[Summary]:
    """Rows of (system, metric, value, error) -> one Summary per (system, metric), in first-seen order.

    A NaN value counts as failed unless its error starts with ``n/a`` (not applicable, e.g. the bitrate of
    the uncoded reference).
    """
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    failed: dict[tuple[str, str], int] = defaultdict(int)
    for system, metric, value, error in rows:
        key = (system, metric)
        values.setdefault(key, [])
        if math.isfinite(value):
            values[key].append(value)
        elif not error.startswith(NOT_APPLICABLE):
            failed[key] += 1
    out = []
    for (system, metric), vals in values.items():
        mean, std, lo, hi = mean_ci(np.array(vals))
        out.append(Summary(system, metric, len(vals), failed[(system, metric)], mean, std, lo, hi))
    return out
