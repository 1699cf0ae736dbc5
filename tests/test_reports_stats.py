"""Report statistics: equal to scipy's t interval, and to bench.stats.summarize (what summary.csv holds)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as st

from bench.stats import summarize
from reports.rundata import load_run
from reports.stats import describe

try:
    from test_reports_fixtures import make_run
except ImportError:  # tests/ imported as a package
    from tests.test_reports_fixtures import make_run


def test_describe_matches_t_interval_and_counts_failures() -> None:
    rng = np.random.default_rng(0)
    for size, scale in ((17, 0.5), (9, 2.0), (2, 1.0)):
        v = rng.normal(3.0, scale, size)
        s = describe([*v, math.nan, math.nan])
        low, high = st.t.interval(0.95, size - 1, loc=v.mean(), scale=st.sem(v))
        assert (s.n, s.n_failed) == (size, 2)
        assert s.mean == pytest.approx(v.mean(), rel=1e-12)
        assert s.std == pytest.approx(v.std(ddof=1), rel=1e-12)
        assert (s.ci95_low, s.ci95_high) == (pytest.approx(low, rel=1e-10), pytest.approx(high, rel=1e-10))
        assert s.half_width == pytest.approx((high - low) / 2, rel=1e-10)


def test_small_samples_give_nan_not_numbers() -> None:
    one = describe([2.5, math.nan])
    assert (one.n, one.n_failed, one.mean) == (1, 1, 2.5)
    assert math.isnan(one.std) and math.isnan(one.ci95_low) and math.isnan(one.ci95_high)
    none = describe([math.nan, math.nan, math.nan])
    assert (none.n, none.n_failed) == (0, 3)
    assert math.isnan(none.mean)
    assert describe([]).n == 0
    inf = describe([1.0, 2.0, math.inf])
    assert (inf.n, inf.n_failed, inf.mean) == (2, 1, 1.5)


def test_report_cells_equal_the_runner_summary(tmp_path: Path) -> None:
    """The reports and summary.csv share one definition; not-applicable NaNs are no failures in either."""
    run = load_run(make_run(tmp_path / "run", failing=True, seconds=0.5))
    runner = {(s.system, s.metric): s for s in summarize((r.system, r.metric, r.value, r.error) for r in run.rows)}
    assert any(r.not_applicable for r in run.rows)  # the fixture has n/a bitrate rows
    checked = 0
    for (system, metric), ref in runner.items():
        mine = describe(run.values(system, metric))
        assert (mine.n, mine.n_failed) == (ref.n, ref.n_failed), (system, metric)
        for a, b in ((mine.mean, ref.mean), (mine.std, ref.std), (mine.ci95_low, ref.ci95_low)):
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12)
        checked += 1
    assert checked >= 15
    assert runner["natural", "bitrate_kbps"].n_failed == 0 and runner["noisy", "lsd"].n_failed == 1
    assert not [f for f in run.failures() if f.metric == "bitrate_kbps"]


def test_interrupted_run_without_results_csv_reads_the_jsonl_log(tmp_path: Path) -> None:
    root = make_run(tmp_path / "run", failing=True, seconds=0.3)
    from_csv = load_run(root)
    (root / "results.csv").unlink()
    with (root / "results.jsonl").open("a") as fh:
        fh.write('{"utterance": "p225/p225_001", "sys')  # a torn last line, as after a crash
    from_log = load_run(root)
    key = lambda r: (r.utterance, r.system, r.metric)
    a = sorted(from_csv.rows, key=key)
    b = sorted(from_log.rows, key=key)
    assert len(a) == len(b) > 100
    for x, y in zip(a, b):
        assert key(x) == key(y) and x.error == y.error and x.speaker == y.speaker
        assert (math.isnan(x.value) and math.isnan(y.value)) or x.value == y.value
