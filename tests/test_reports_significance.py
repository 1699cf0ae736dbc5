"""The paired significance test of the report's summary equals scipy's Wilcoxon signed-rank test, and Holm's
correction equals the step-down rejection rule."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from reports.significance import holm, wilcoxon_signed_rank


@pytest.mark.parametrize("n", [3, 8, 20, 50])
def test_exact_p_values_equal_scipy(n: int) -> None:
    rng = np.random.default_rng(n)
    for shift in (0.0, 0.3, 1.0):
        x = rng.normal(size=n)
        y = x - shift - rng.normal(scale=0.8, size=n)
        ours = wilcoxon_signed_rank(x, y)
        ref = stats.wilcoxon(x, y, method="exact")
        assert ours.exact and ours.n == n
        assert ours.statistic == ref.statistic
        assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("n", [12, 80, 300])
def test_approximate_p_values_with_ties_and_zeros_equal_scipy(n: int) -> None:
    rng = np.random.default_rng(100 + n)
    x = np.round(rng.normal(scale=3.0, size=n))  # integers: tied magnitudes and zero differences
    y = np.round(x - 0.5 + rng.normal(scale=2.0, size=n))
    ours = wilcoxon_signed_rank(x, y)
    ref = stats.wilcoxon(x, y, method="asymptotic", correction=False, zero_method="wilcox")
    assert not ours.exact
    assert ours.n == int(np.count_nonzero(x - y))
    assert ours.statistic == ref.statistic
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_non_finite_pairs_are_dropped_and_identical_values_give_p_one() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=15), rng.normal(size=15)
    x[4], y[9] = np.nan, np.inf
    keep = np.isfinite(x) & np.isfinite(y)
    assert wilcoxon_signed_rank(x, y).p_value == pytest.approx(stats.wilcoxon(x[keep], y[keep], method="exact").pvalue)
    same = wilcoxon_signed_rank(x[keep], x[keep])
    assert same.n == 0 and same.p_value == 1.0


def _step_down(p: list[float], alpha: float) -> set[int]:
    """Holm's procedure as a rejection rule: walk the sorted p-values, stop at the first not below alpha/(m-i)."""
    rejected = set()
    for i, j in enumerate(sorted(range(len(p)), key=lambda k: p[k])):
        if p[j] > alpha / (len(p) - i):
            break
        rejected.add(j)
    return rejected


def test_holm_adjusted_p_values_reject_what_the_step_down_rule_rejects() -> None:
    rng = np.random.default_rng(7)
    for m in (1, 2, 5, 15):
        p = list(rng.uniform(0, 0.08, size=m) ** 1.5)
        adjusted = holm(p)
        assert all(a >= q for a, q in zip(adjusted, p)) and max(adjusted) <= 1.0
        for alpha in (0.01, 0.05, 0.1):
            assert {j for j, a in enumerate(adjusted) if a <= alpha} == _step_down(p, alpha)
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
