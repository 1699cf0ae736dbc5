"""Paired significance tests across utterances: the Wilcoxon signed-rank test and Holm's correction.

Two systems scored on the same utterances give paired values; their differences ``d`` are tested for a
median of zero with the two-sided Wilcoxon signed-rank test (zero differences dropped, Wilcoxon's
convention). With at most ``EXACT_MAX_N`` non-zero differences and no tied magnitudes the p-value is exact
(the null distribution of the rank sum by counting sign patterns); otherwise the normal approximation with
the tie correction of the variance, without continuity correction. Holm's step-down method then controls
the family-wise error rate over the comparisons of one metric.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr
from scipy.stats import rankdata

#: Largest number of non-zero differences for which the exact null distribution is used.
EXACT_MAX_N = 50


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


def _exact_cdf(n: int, t: float) -> float:
    """P(T+ <= t) under the null for n untied non-zero differences (2^n equally likely sign patterns)."""
    top = n * (n + 1) // 2
    counts = np.zeros(top + 1, dtype=np.float64)
    counts[0] = 1.0
    for k in range(1, n + 1):  # add rank k with a positive sign
        counts[k:] = counts[k:] + counts[:-k].copy()
    return float(counts[: math.floor(t + 1e-9) + 1].sum() / 2.0**n)


def wilcoxon_signed_rank(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> SignedRank:
    """Two-sided Wilcoxon signed-rank test of paired ``[N]`` values (pairs with a non-finite value dropped)."""
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired values need equal shapes, got {a.shape} and {b.shape}")
    d = a - b
    d = d[np.isfinite(d)]
    median = float(np.median(d)) if d.size else math.nan
    d = d[d != 0]
    n = int(d.size)
    if n == 0:
        return SignedRank(0, 0.0, 1.0, True, median)
    ranks = rankdata(np.abs(d))
    r_plus = float(ranks[d > 0].sum())
    r_minus = float(ranks[d < 0].sum())
    statistic = min(r_plus, r_minus)
    _, tie_counts = np.unique(np.abs(d), return_counts=True)
    ties = bool(np.any(tie_counts > 1))
    if n <= EXACT_MAX_N and not ties:
        p = min(1.0, 2.0 * _exact_cdf(n, statistic))
        return SignedRank(n, statistic, p, True, median)
    mean = n * (n + 1) / 4.0
    var = n * (n + 1) * (2 * n + 1) / 24.0 - float(np.sum(tie_counts**3 - tie_counts)) / 48.0
    z = (statistic - mean) / math.sqrt(var)
    p = min(1.0, 2.0 * float(ndtr(-abs(z))))
    return SignedRank(n, statistic, p, False, median)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (same order as given): the i-th smallest p times (m - i), made monotone, at most 1.

    A hypothesis is rejected at level alpha when its adjusted p-value is at most alpha."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for i, j in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[j]))
        adjusted[j] = running
    return adjusted.tolist()


__all__ = ["EXACT_MAX_N", "SignedRank", "holm", "wilcoxon_signed_rank"]
