"""Summary statistics (mean, std and a t-distribution 95% confidence interval of the mean) and the suite's
one paired test and multiple-comparison correction, used by the report and the listening-test analysis alike.

Paired values are tested with scipy's two-sided Wilcoxon signed-rank test (:func:`wilcoxon_signed_rank`):
pairs with a non-finite value are dropped, zero differences too (Wilcoxon's convention); with at most
:data:`EXACT_MAX_N` non-zero differences and no tied magnitudes the p-value is exact (``method="exact"``),
otherwise the normal approximation with the tie correction of the variance and no continuity correction
(``method="asymptotic"``). :func:`holm` then controls the family-wise error rate over a family of tests.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

NOT_APPLICABLE = "n/a"
#: Largest number of non-zero differences for which the Wilcoxon test's exact null distribution is used.
EXACT_MAX_N = 50


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


@dataclass(frozen=True)
class SignedRank:
    """Result of one paired test.

    Attributes:
        n: pairs with a non-zero difference (the test's sample size).
        statistic: min(R+, R-), the smaller signed-rank sum.
        p_value: two-sided p-value (1.0 when every difference is zero).
        exact: True when the p-value is exact, False for the normal approximation.
        median_difference: median of ``x - y`` over all finite pairs (its sign says which is larger).
    """

    n: int
    statistic: float
    p_value: float
    exact: bool
    median_difference: float


def wilcoxon_signed_rank(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> SignedRank:
    """Two-sided Wilcoxon signed-rank test of paired ``[N]`` values (scipy's; method as in the module doc)."""
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired values need equal shapes, got {a.shape} and {b.shape}")
    d = a - b
    d = d[np.isfinite(d)]
    median = float(np.median(d)) if d.size else math.nan
    d = d[d != 0]
    if d.size == 0:
        return SignedRank(0, 0.0, 1.0, True, median)
    exact = d.size <= EXACT_MAX_N and np.unique(np.abs(d)).size == d.size
    res = stats.wilcoxon(d, zero_method="wilcox", correction=False, alternative="two-sided",
                         method="exact" if exact else "asymptotic")
    return SignedRank(int(d.size), float(res.statistic), float(res.pvalue), bool(exact), median)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (same order as given): the i-th smallest of the m finite p-values times
    (m - i), made monotone, at most 1; NaN stays NaN and does not count in m.

    A hypothesis is rejected at level alpha when its adjusted p-value is at most alpha."""
    p = [float(v) for v in p_values]
    order = sorted((i for i, v in enumerate(p) if not math.isnan(v)), key=lambda i: p[i])
    adjusted = [math.nan] * len(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p[i]))
        adjusted[i] = running
    return adjusted
