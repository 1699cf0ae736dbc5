"""Descriptive statistics and paired tests for listening-test scores (the test and Holm's correction are
the suite's own, :mod:`bench.stats`, as in the report)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bench.stats import mean_ci, wilcoxon_signed_rank


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


def wilcoxon_paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """The suite's Wilcoxon signed-rank test (:func:`bench.stats.wilcoxon_signed_rank`) on paired ``[N]``
    scores, as (statistic, p) for the tables; fewer than two pairs give NaN, all-zero differences p = 1."""
    if len(a) < 2:
        return math.nan, math.nan
    res = wilcoxon_signed_rank(a, b)
    return res.statistic, res.p_value
