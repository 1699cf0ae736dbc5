"""Descriptive statistics and paired tests for listening-test scores."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from bench.stats import mean_ci


@dataclass
class Summary:
    """Scores of one condition: mean with 95% CI (t distribution), median and inter-quartile range."""

    n: int
    mean: float
    ci95: float
    median: float
    q1: float
    q3: float
    std: float


def summarise(scores: list[float] | np.ndarray) -> Summary:
    """Summary of ``[N]`` scores; the CI half-width is NaN below two scores."""
    x = np.asarray(scores, dtype=np.float64)
    n = len(x)
    if n == 0:
        nan = float("nan")
        return Summary(0, nan, nan, nan, nan, nan, nan)
    mean, std, low, _ = mean_ci(x)  # the suite's one definition of the t interval
    q1, med, q3 = (float(v) for v in np.percentile(x, [25, 50, 75]))
    return Summary(n=n, mean=mean, ci95=mean - low, median=med, q1=q1, q3=q3, std=std)


def holm(pvalues: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order as given; NaN stays NaN)."""
    idx = [i for i, p in enumerate(pvalues) if not math.isnan(p)]
    order = sorted(idx, key=lambda i: pvalues[i])
    m = len(order)
    adjusted = [float("nan")] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def wilcoxon_paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sided Wilcoxon signed-rank test on paired ``[N]`` scores. Returns (statistic, p).

    All-zero differences give p = 1 (no evidence of a difference); fewer than two pairs give NaN.
    """
    if len(a) < 2:
        return float("nan"), float("nan")
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if np.all(d == 0):
        return 0.0, 1.0
    res = stats.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided")
    return float(res.statistic), float(res.pvalue)
