"""The paired significance test of the report's summary equals scipy's Wilcoxon signed-rank test, Holm's
correction equals the step-down rejection rule, and the summary paragraph says what the tests found."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from bench.runfolder.results import Row
from bench.stats import holm, wilcoxon_signed_rank
from reports.rundata import Run
from reports.summary import compare, significance_matrix, summary_paragraph
from reports.tables import build_table


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


def _run(values: dict[str, np.ndarray], hib: bool = True) -> Run:
    """A run with one metric ``m`` and the given per-utterance values per system."""
    n = len(next(iter(values.values())))
    utts = [f"u{i:02d}" for i in range(n)]
    rows = [Row(u, "s1", s, "m", float(v[i]), "") for s, v in values.items() for i, u in enumerate(utts)]
    info = {"metrics": {"m": {"higher_is_better": hib}}, "systems": {s: {} for s in values}}
    return Run(Path("/nonexistent"), "synthetic", info, rows, list(values), ["m"], utts, dict.fromkeys(utts, "s1"))


def test_summary_names_the_best_system_and_the_significant_differences() -> None:
    rng = np.random.default_rng(11)
    base = rng.normal(3.0, 0.4, 20)
    values = {"natural": base + 2, "anchor70": base + 1.5, "good": base + 0.5 + rng.normal(0, 0.1, 20),
              "close": base + 0.5 + rng.normal(0, 0.3, 20), "bad": base + rng.normal(0, 0.1, 20)}
    run = _run(values)
    comps = compare(run, "m", ["good", "close", "bad"])
    raw = [stats.wilcoxon(values[c.a], values[c.b], method="exact").pvalue for c in comps]
    assert [c.p_value for c in comps] == pytest.approx(raw)
    assert [c.p_holm for c in comps] == pytest.approx(holm(raw))
    text = summary_paragraph(run, ["m"])
    assert "natural is best" not in text and "anchor70 is best" not in text  # better means, never ranked
    best = "good" if values["good"].mean() >= values["close"].mean() else "close"
    other = "close" if best == "good" else "good"
    # the mean as the table prints it (3 decimals below 10), never rounded further
    assert f"{best} is best on m ({values[best].mean():.3f}), significantly better than bad but not than {other}." in text
    assert "3 systems under test on 20 utterances." in text
    assert "100 items failed" in text  # no audio files in this synthetic run: each one counts as a failure


def test_summary_says_when_too_few_utterances_allow_no_significance() -> None:
    x = np.arange(5.0)
    text = summary_paragraph(_run({"a": x + 10, "b": x, "c": x - 10}, hib=False), ["m"])
    assert "c is best on m (-8.000), not significantly better than a and b." in text  # lower is better here
    assert "With 5 utterances no difference can be significant" in text


def test_report_and_listening_analysis_give_scipys_p_values(tmp_path: Path) -> None:
    """One test and one correction: the report's comparisons and the listening-test analysis of the same
    paired values give scipy's p-values (zero differences dropped; exact when no magnitudes tie, else the
    asymptotic one without continuity correction) and the same Holm-adjusted ones."""
    from listening_test.analysis import analyse
    from listening_test.ratings import Rating

    rng = np.random.default_rng(5)
    n = 16
    base = rng.integers(30, 70, n).astype(float)
    untied = np.round(rng.normal(4.0, 3.0, n), 3)
    untied[[1, 6]] = 0.0  # zero differences, the other magnitudes distinct: exact once zeros are dropped
    tied = np.round(rng.normal(-1.0, 3.0, n))  # integers: tied magnitudes (and zeros): asymptotic
    values = {"a": base + untied, "b": base, "c": base + tied}

    def scipy_p(x: np.ndarray, y: np.ndarray) -> float:
        d = (x - y)[x != y]
        exact = np.unique(np.abs(d)).size == d.size
        return stats.wilcoxon(d, correction=False, method="exact" if exact else "asymptotic").pvalue

    comps = compare(_run(values), "m", list(values))
    expected = {frozenset((c.a, c.b)): scipy_p(values[c.a], values[c.b]) for c in comps}
    assert len(expected) == 3 and len({p for p in expected.values()}) == 3
    assert {frozenset((c.a, c.b)): c.p_value for c in comps} == pytest.approx(expected, rel=1e-12)
    report_holm = {frozenset((c.a, c.b)): c.p_holm for c in comps}

    ratings = [Rating("a0", f"item{i:02d}", f"item{i:02d}", s, float(v[i])) for s, v in values.items()
               for i in range(n)]
    pairwise = analyse(ratings, "mushra", tmp_path, systems=list(values), screening=False).pairwise
    assert {frozenset((r["a"], r["b"])): r["p"] for r in pairwise} == pytest.approx(expected, rel=1e-12)
    assert {frozenset((r["a"], r["b"])): r["p_holm"] for r in pairwise} == pytest.approx(report_holm, rel=1e-12)


def test_summary_paragraph_rounds_as_the_table_does() -> None:
    x = np.linspace(-0.002, 0.002, 6)
    run = _run({"opus": 3.997 + x, "other": 3.5 + x})
    text = summary_paragraph(run, ["m"])
    assert "Opus is best on m (3.997)" in text  # was "(4)"; the display name
    table = build_table(run, title="t", metrics=["m"])
    assert next(c.mean_text for r in table.rows if r.system == "opus" for c in r.cells) == "3.997"


def test_significance_matrix_is_antisymmetric_and_holm_corrected() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(3.0, 0.4, 20)
    values = {"natural": base + 2, "good": base + 0.5 + rng.normal(0, 0.05, 20),
              "close": base + 0.48 + rng.normal(0, 0.3, 20), "bad": base + rng.normal(0, 0.05, 20)}
    run = _run(values)
    matrix = significance_matrix(run, "m")
    assert matrix["systems"] == ["good", "close", "bad"]  # systems under test only
    comps = {(c.a, c.b): c for c in compare(run, "m", ["good", "close", "bad"])}
    cell = {(r["system"], s): c for r in matrix["rows"] for s, c in zip(matrix["systems"], r["cells"], strict=True)}
    assert cell[("good", "bad")]["better"] == "yes" and cell[("bad", "good")]["better"] == "no"
    assert cell[("good", "bad")]["p"] == comps[("good", "bad")].p_holm
    assert cell[("good", "bad")]["text"].startswith("▲") and cell[("bad", "good")]["text"].startswith("▼")
    a, b = ("good", "close") if ("good", "close") in comps else ("close", "good")
    assert not comps[(a, b)].significant and cell[(a, b)]["text"].startswith("–") and cell[(a, b)]["better"] == ""
    assert cell[("good", "good")]["text"] == ""
