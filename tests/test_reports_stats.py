"""reports.stats.summarize: the one definition of the summary statistics, checked against scipy directly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from reports.stats import describe, summarize


def test_summarize_matches_t_interval_and_counts_failures() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(3.0, 0.5, 17)
    b = rng.normal(-1.0, 2.0, 9)
    rows = [("sysA", "pesq_wb", float(v)) for v in a] + [("sysB", "pesq_wb", float(v)) for v in b]
    rows += [("sysB", "pesq_wb", math.nan), ("sysB", "pesq_wb", math.nan)]
    out = summarize(rows)
    assert list(out) == [("sysA", "pesq_wb"), ("sysB", "pesq_wb")]
    for key, values in ((("sysA", "pesq_wb"), a), (("sysB", "pesq_wb"), b)):
        s = out[key]
        low, high = st.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=st.sem(values))
        assert s.n == len(values)
        assert s.mean == pytest.approx(values.mean(), rel=1e-12)
        assert s.std == pytest.approx(values.std(ddof=1), rel=1e-12)
        assert s.ci95_low == pytest.approx(low, rel=1e-10)
        assert s.ci95_high == pytest.approx(high, rel=1e-10)
    assert out["sysA", "pesq_wb"].n_failed == 0
    assert out["sysB", "pesq_wb"].n_failed == 2


def test_small_samples_give_nan_not_numbers() -> None:
    one = describe([2.5, math.nan])
    assert (one.n, one.n_failed, one.mean) == (1, 1, 2.5)
    assert math.isnan(one.std) and math.isnan(one.ci95_low) and math.isnan(one.ci95_high)
    none = describe([math.nan, math.nan, math.nan])
    assert (none.n, none.n_failed) == (0, 3)
    assert math.isnan(none.mean)
    assert describe([]).n == 0


def test_infinite_values_are_not_averaged() -> None:
    s = describe([1.0, 2.0, math.inf])
    assert (s.n, s.n_failed, s.mean) == (2, 1, 1.5)
