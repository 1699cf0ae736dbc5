"""Summary statistics shared by the runner (summary.csv) and the reports: one definition for both.

Every value is a float; NaN (or another non-finite value) counts as a failure, never as a score.
The confidence interval is the two-sided 95% interval of the mean with the t distribution
(n - 1 degrees of freedom), NaN when n < 2.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Summary:
    """Statistics of one (system, metric) cell.

    Attributes:
        n: finite values.
        n_failed: non-finite values (NaN rows: the metric could not be computed).
        mean: mean of the finite values (NaN when n == 0).
        std: sample standard deviation, ddof 1 (NaN when n < 2).
        ci95_low: lower end of the 95% t interval of the mean (NaN when n < 2).
        ci95_high: upper end (NaN when n < 2).
    """

    n: int
    n_failed: int
    mean: float
    std: float
    ci95_low: float
    ci95_high: float

    @property
    def half_width(self) -> float:
        """Half the width of the confidence interval (NaN when n < 2)."""
        return (self.ci95_high - self.ci95_low) / 2.0

    def as_dict(self) -> dict[str, float | int]:
        """The six fields, in summary.csv order."""
        return {
            "n": self.n,
            "n_failed": self.n_failed,
            "mean": self.mean,
            "std": self.std,
            "ci95_low": self.ci95_low,
            "ci95_high": self.ci95_high,
        }


def describe(values: Sequence[float] | np.ndarray) -> Summary:
    """Summary of one cell's values (NaN = failed).

    Args:
        values: ``[N]`` floats, one per utterance.
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    finite = x[np.isfinite(x)]
    n = int(finite.size)
    n_failed = int(x.size - n)
    nan = float("nan")
    if n == 0:
        return Summary(0, n_failed, nan, nan, nan, nan)
    mean = float(finite.mean())
    if n < 2:
        return Summary(n, n_failed, mean, nan, nan, nan)
    std = float(finite.std(ddof=1))
    half = float(_st.t.ppf(0.5 + CONFIDENCE / 2.0, n - 1)) * std / math.sqrt(n)
    return Summary(n, n_failed, mean, std, mean - half, mean + half)


def summarize(rows: Iterable[tuple[str, str, float]]) -> dict[tuple[str, str], Summary]:
    """Per-(system, metric) statistics of long-format rows.

    Args:
        rows: ``(system, metric, value)`` triples; one per utterance, value NaN when it failed.
    Returns:
        ``{(system, metric): Summary}`` in order of first appearance.
    """
    groups: dict[tuple[str, str], list[float]] = {}
    for system, metric, value in rows:
        groups.setdefault((system, metric), []).append(float(value))
    return {key: describe(vals) for key, vals in groups.items()}


__all__ = ["CONFIDENCE", "Summary", "describe", "summarize"]
