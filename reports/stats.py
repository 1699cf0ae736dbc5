"""Summary statistics of report cells, on top of the one definition in ``bench.stats``.

``bench.stats.mean_ci`` (mean, std with ddof 1, two-sided 95% t interval of the mean, NaN when n < 2) and
``bench.stats.summarize`` (what summary.csv holds) are shared by the runner and the reports, so the
tables always agree with summary.csv. A NaN value is a failure unless its error starts with ``n/a``
(not applicable, e.g. the bitrate of an uncoded system): such rows are not data points at all and the
run loader leaves them out before they get here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.stats import NOT_APPLICABLE, mean_ci, summarize


@dataclass(frozen=True)
class CellStats:
    """Statistics of one table cell.

    Attributes:
        n: finite values.
        n_failed: non-finite values (the metric could not be computed).
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


def describe(values: Sequence[float] | np.ndarray) -> CellStats:
    """Statistics of one cell's values, NaN (or inf) counting as failed.

    Args:
        values: ``[N]`` floats, one per utterance.
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    finite = x[np.isfinite(x)]
    mean, std, low, high = mean_ci(finite)
    return CellStats(int(finite.size), int(x.size - finite.size), mean, std, low, high)


__all__ = ["NOT_APPLICABLE", "CellStats", "describe", "summarize"]
