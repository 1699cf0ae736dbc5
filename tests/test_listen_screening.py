"""Post-screening (BS.1534-3), statistics and the webMUSHRA CSV round trip, on synthetic panels."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from scipy import stats

from bench.stats import holm
from listening_test.analysis import analyse
from listening_test.ratings import Rating
from listening_test.screening import screen_mushra
from listening_test.stats import summarise
from listening_test.webmushra import ratings_to_csv, read_csv

ITEMS = [f"item{i:02d}" for i in range(1, 11)]


def panel(n_assessors: int = 8, seed: int = 0) -> list[Rating]:
    """Good assessors: reference 95-100, codec ~60, mid anchor ~50, low anchor ~20."""
    rng = np.random.default_rng(seed)
    out = []
    for a in range(n_assessors):
        for item in ITEMS:
            for system, mu in (("reference", 98), ("codec", 60), ("anchor70", 50), ("anchor35", 20)):
                score = float(np.clip(rng.normal(mu, 2 if system == "reference" else 8), 0, 100))
                if system == "reference":
                    score = max(score, 92.0)
                out.append(Rating(f"a{a}", item, item, system, round(score)))
    return out


def replace(ratings: list[Rating], assessor: str, system: str, items: list[str], score: float) -> list[Rating]:
    return [Rating(r.assessor, r.trial, r.item, r.system, score, r.time_ms, r.comment)
            if (r.assessor == assessor and r.system == system and r.item in items) else r for r in ratings]


def test_hidden_reference_rule_is_more_than_15_percent():
    ratings = replace(panel(), "a1", "reference", ITEMS[:1], 85)   # 1 of 10 = 10%: kept
    ratings = replace(ratings, "a2", "reference", ITEMS[:2], 85)   # 2 of 10 = 20%: excluded
    s = screen_mushra(ratings)
    assert "a1" in s.kept
    assert "a2" in s.excluded and "hidden reference below 90 on 2 of 10" in s.excluded["a2"]
    assert s.counts["a1"]["reference_below_90"] == 1
    assert sorted(s.kept) == sorted({f"a{i}" for i in range(8)} - {"a2"})


def test_mid_anchor_rule_and_its_25_percent_item_exception():
    # a3 rates the mid anchor above 90 on 2 of 10 items -> excluded
    ratings = replace(panel(), "a3", "anchor70", ITEMS[:2], 95)
    s = screen_mushra(ratings)
    assert "a3" in s.excluded and "mid anchor" in s.excluded["a3"]
    # item03/item04: 3 of 8 assessors (37.5% > 25%) rate the anchor above 90 -> skipped for the rule;
    # a4 has only those two items above 90 and is therefore kept.
    ratings = panel()
    for a in ("a4", "a5", "a6"):
        ratings = replace(ratings, a, "anchor70", ["item03", "item04"], 95)
    s = screen_mushra(ratings)
    assert s.skipped_items == ["item03", "item04"]
    assert {"a4", "a5", "a6"} <= set(s.kept) and not s.excluded
    # exactly 2 of 8 assessors (25%, not more) -> the item is not skipped and both are excluded
    ratings = panel()
    for a in ("a4", "a5"):
        ratings = replace(ratings, a, "anchor70", ["item03", "item04"], 95)
    s = screen_mushra(ratings)
    assert s.skipped_items == [] and set(s.excluded) == {"a4", "a5"}


def test_summary_ci_holm_and_outputs(tmp_path):
    ratings = replace(panel(21), "a2", "reference", ITEMS[:3], 70)  # 20 kept: the panel BS.1534-3 expects
    result = analyse(ratings, "mushra", tmp_path, systems=["codec"])
    assert list(result.excluded) == ["a2"]
    rows = {r["condition"]: r for r in result.summary}
    assert [r["condition"] for r in result.summary] == ["reference", "codec", "anchor70", "anchor35"]
    codec = np.array([r.score for r in ratings if r.system == "codec" and r.assessor != "a2"])
    half = stats.t.ppf(0.975, len(codec) - 1) * codec.std(ddof=1) / math.sqrt(len(codec))
    assert rows["codec"]["n"] == 200 and rows["codec"]["mean"] == pytest.approx(codec.mean())
    assert rows["codec"]["ci95"] == pytest.approx(half)
    pair = next(p for p in result.pairwise if {p["a"], p["b"]} == {"codec", "anchor35"})
    assert pair["p_holm"] < 1e-6 and pair["significant_0.05"] == "yes"
    for name in ("summary.csv", "summary.md", "summary.tex", "pairwise.csv", "items.csv", "boxplot.png",
                 "items.png", "screening.md", "analysis.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert "excluded: rated the hidden reference below 90 on 3 of 10" in (tmp_path / "screening.md").read_text()
    assert r"\begin{tabular}" in (tmp_path / "summary.tex").read_text()
    assert not result.warnings and result.panel_ok


@pytest.mark.parametrize(("n", "kind", "expected"), [
    (2, "mushra", "2 assessors: below the 20 that ITU-R BS.1534-3 (§4) expects after post-screening"),
    (19, "mushra", "19 assessors: below the 20 that ITU-R BS.1534-3 (§4) expects after post-screening"),
    (1, "mos", "1 assessor: too few for these confidence intervals"),
    (2, "mos", "2 assessors: too few for these confidence intervals"),
])
def test_a_small_panel_is_flagged_in_the_warnings_tables_and_screening_report(tmp_path, n, kind, expected):
    if kind == "mushra":
        ratings = panel(n)
    else:  # two raters who disagree: CIs wider than the 1-5 scale (with one rater: no CI at all)
        ratings = [Rating(f"a{a}", f"{item}-{system}", item, system, float(score))
                   for a, scores in enumerate([(5, 4), (1, 2)][:n]) for item in ITEMS[:2]
                   for system, score in zip(("codec", "other"), scores, strict=True)]
    result = analyse(ratings, kind, tmp_path, screening=False)
    warning = next(w for w in result.warnings if "assessor" in w)
    assert warning.startswith(expected) and "not shown as reliable" in warning
    assert not result.panel_ok
    assert expected.split(":")[0] in (tmp_path / "summary.md").read_text()  # the table's caption
    assert f"**Warning:** {warning}" in (tmp_path / "screening.md").read_text()
    assert json.loads((tmp_path / "analysis.json").read_text())["panel_ok"] is False


def test_twenty_mushra_assessors_with_tight_cis_are_not_flagged(tmp_path):
    result = analyse(panel(20), "mushra", tmp_path)
    assert result.n_kept == 20 and result.panel_ok and not any("assessor" in w for w in result.warnings)
    assert "20 assessors kept after post-screening; ITU-R BS.1534-3 (§4) expects at least 20." in (
        tmp_path / "screening.md").read_text()


def test_holm_and_summary_edge_cases():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, float("nan")])[0] == 0.5 and math.isnan(holm([0.5, float("nan")])[1])
    s = summarise([1, 2, 3, 4])
    assert (s.median, s.q1, s.q3) == (2.5, 1.75, 3.25)
    assert math.isnan(summarise([3.0]).ci95)


def test_warns_when_most_scores_are_high(tmp_path):
    ratings = [Rating(f"a{a}", i, i, s, 90.0 + a) for a in range(4) for i in ITEMS for s in ("reference", "codec")]
    result = analyse(ratings, "mushra", tmp_path)
    assert any("between 80 and 100" in w for w in result.warnings)


def test_webmushra_csv_round_trip_gives_the_same_analysis(tmp_path):
    ratings = panel(5)
    answers = {f"a{i}": {"age": str(20 + i), "email": ""} for i in range(5)}
    path = tmp_path / "in.csv"
    path.write_text(ratings_to_csv(ratings, "mytest", answers))
    header = next(csv.reader(path.open()))
    assert header == ["session_test_id", "age", "email", "session_uuid", "trial_id", "rating_stimulus",
                      "rating_score", "rating_time", "rating_comment"]
    back, q = read_csv(path)
    assert q["a3"]["age"] == "23"
    assert sorted((r.assessor, r.trial, r.system, r.score) for r in back) == \
        sorted((r.assessor, r.trial, r.system, r.score) for r in ratings)
    a = analyse(ratings, "mushra", tmp_path / "a")
    b = analyse(back, "mushra", tmp_path / "b")
    assert a.summary == b.summary


def test_mos_summary_has_no_screening(tmp_path):
    rng = np.random.default_rng(1)
    ratings = [Rating(f"a{a}", f"t{i}", f"item{i}", s, float(rng.integers(lo, 6)))
               for a in range(6) for i in range(5) for s, lo in (("natural", 4), ("opus", 2))]
    result = analyse(ratings, "mos", tmp_path)
    assert result.n_kept == 6 and not result.excluded
    nat = next(r for r in result.summary if r["condition"] == "natural")
    assert 4 <= nat["mean"] <= 5 and nat["n"] == 30


def _panel_where_everyone_fails(tmp_path):
    """Two assessors who both rate the hidden reference 50 on every item."""
    ratings = [Rating(assessor=a, trial=f"item{i}", item=f"item{i}", system=s, score=50.0 if s == "reference" else 40.0)
               for a in ("pilot1", "pilot2") for i in range(4) for s in ("reference", "codec", "anchor70", "anchor35")]
    test_dir = tmp_path / "ratings.csv"
    test_dir.write_text(ratings_to_csv(ratings, "pilot", {}))
    return test_dir


def test_screening_that_excludes_everyone_says_so_and_no_screening_keeps_all(tmp_path, capsys):
    from bench.cli import main as bench_main

    csv_path = _panel_where_everyone_fails(tmp_path)
    assert bench_main(["listen", "import", str(csv_path), "--out", str(tmp_path / "a")]) == 1
    err = capsys.readouterr().err
    assert "excluded all 2 assessors" in err and "--no-screening" in err
    result = analyse(read_csv(csv_path)[0], "mushra", tmp_path / "b", screening=False)
    assert result.n_kept == 2 and not result.excluded
    assert {r["condition"]: r["mean"] for r in result.summary}["reference"] == 50.0
    assert "switched off" in (tmp_path / "b" / "screening.md").read_text()
