"""``bench listen analyze``: post-screening, per-condition statistics, pairwise tests, tables and plots."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np

from bench.stats import holm
from listening_test.checks import check_problems
from listening_test.definition import HIDDEN_REFERENCE, LOW_ANCHOR, MID_ANCHOR
from listening_test.p808 import is_check_condition
from listening_test.panel import assessors as n_assessors
from listening_test.panel import check_panel
from listening_test.plots import box_plot, item_plot
from listening_test.ratings import Rating
from listening_test.screening import Screening, fast_trial_problems
from listening_test.stats import summarise, wilcoxon_paired
from listening_test.testtypes import TestType, get_test_type
from reports.tabular import write_table


@dataclass
class Analysis:
    """What ``analyze`` found; also written as ``analysis.json``."""

    type: str
    n_assessors: int
    n_kept: int
    excluded: dict[str, str]
    skipped_items: list[str]
    summary: list[dict]
    pairwise: list[dict]
    warnings: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    #: whether the kept panel is as large as the type's recommendation and its CIs stay on the scale
    #: (:func:`listening_test.panel.check_panel`); when not, the CIs are not to be read as reliable
    panel_ok: bool = True


def condition_order(conditions: set[str], systems: list[str] | None = None) -> list[str]:
    """Hidden reference first, then systems (given order, else sorted), then mid and low anchor."""
    head = [c for c in (HIDDEN_REFERENCE,) if c in conditions]
    tail = [c for c in (MID_ANCHOR, LOW_ANCHOR) if c in conditions]
    middle = [s for s in (systems or []) if s in conditions]
    middle += sorted(conditions - set(head) - set(tail) - set(middle))
    return head + middle + tail


def _against_zero(conditions: list[str], by_cond: dict[str, list[float]]) -> list[dict]:
    """For difference scores (CCR): each condition's Wilcoxon signed-rank test against no difference."""
    rows = []
    for c in conditions:
        x = np.asarray(by_cond[c], dtype=np.float64)
        stat, p = wilcoxon_paired(x, np.zeros_like(x))
        rows.append({"a": c, "b": "no difference (0)", "n_pairs": len(x),
                     "mean_difference": float(np.mean(x)) if len(x) else float("nan"), "wilcoxon_W": stat, "p": p})
    return rows


def screen(kind: TestType, ratings: list[Rating], checks: dict[str, dict] | None,
           min_trial_ms: dict[str, float] | None = None) -> Screening:
    """The type's rules, then the checks before the test (headphone check, qualification answers), then
    the trial durations against ``min_trial_ms`` (trial -> ms; see :func:`listening_test.testtypes.min_trial_ms`)."""
    outcome = kind.screen(ratings)
    for a, reason in fast_trial_problems(ratings, min_trial_ms or {}).items():
        outcome.excluded[a] = "; ".join(filter(None, [outcome.excluded.get(a, ""), reason]))
    for a, a_checks in (checks or {}).items():
        reasons = check_problems(a_checks)
        if reasons and a in {r.assessor for r in ratings}:
            outcome.excluded[a] = "; ".join(filter(None, [outcome.excluded.get(a, ""), *reasons]))
    outcome.kept = [a for a in outcome.kept if a not in outcome.excluded]
    return outcome


def _screening_effect(ratings: list[Rating], kept: set[str], conditions: list[str]) -> list[dict]:
    """Per condition: mean over the kept assessors next to the mean over everyone."""
    rows = []
    for c in conditions:
        all_scores = [r.score for r in ratings if r.system == c]
        kept_scores = [r.score for r in ratings if r.system == c and r.assessor in kept]
        s_all, s_kept = summarise(all_scores), summarise(kept_scores)
        rows.append({"condition": c, "n_kept": s_kept.n, "mean_kept": s_kept.mean, "n_all": s_all.n,
                     "mean_all": s_all.mean, "change": s_kept.mean - s_all.mean})
    return rows


def analyse(ratings: list[Rating], test_type: str, out_dir: Path, systems: list[str] | None = None,
            screening: bool = True, checks: dict[str, dict] | None = None,
            min_trial_ms: dict[str, float] | None = None) -> Analysis:
    """Screen (by the test type's rules and the participants' ``checks`` unless ``screening`` is off),
    summarise and test; write tables (CSV/MD/LaTeX), plots and ``analysis.json``. Gold and trap
    conditions feed the screening only, never the statistics."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if not ratings:
        raise ValueError("no ratings to analyse")
    assessors = sorted({r.assessor for r in ratings})
    kind = get_test_type(test_type)
    outcome = screen(kind, ratings, checks, min_trial_ms) if screening else Screening(kept=assessors, excluded={},
                                                                         skipped_items=[])
    kept = set(outcome.kept)
    ratings = [r for r in ratings if not is_check_condition(r.system)]
    used = [r for r in ratings if r.assessor in kept]
    warnings: list[str] = []
    if not used:
        warnings.append(f"post-screening excluded all {n_assessors(len(assessors))} (see screening.md): no statistics; "
                        "for a pilot, rerun with --no-screening")
    conditions = condition_order({r.system for r in ratings}, systems)
    by_cond: dict[str, list[float]] = defaultdict(list)
    by_item: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    paired: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    for r in used:
        by_cond[r.system].append(r.score)
        by_item[r.system][r.item].append(r.score)
        paired[r.system][(r.assessor, r.item)] = r.score
    summary = []
    for c in conditions:
        s = summarise(by_cond[c])
        summary.append({"condition": c, "n": s.n, "mean": s.mean, "ci95": s.ci95, "ci95_low": s.mean - s.ci95,
                        "ci95_high": s.mean + s.ci95, "median": s.median, "q1": s.q1, "q3": s.q3,
                        "iqr": s.q3 - s.q1})
    items_rows, item_means = [], {}
    for c in conditions:
        item_means[c] = {}
        for item in sorted(by_item[c]):
            s = summarise(by_item[c][item])
            item_means[c][item] = (s.mean, s.ci95)
            items_rows.append({"condition": c, "item": item, "n": s.n, "mean": s.mean, "ci95": s.ci95,
                               "median": s.median})
    pairwise = _against_zero(conditions, by_cond) if kind.compare == "zero" else []
    for a, b in (combinations(conditions, 2) if kind.compare == "pairwise" else []):
        keys = sorted(set(paired[a]) & set(paired[b]))
        xa = np.array([paired[a][k] for k in keys])
        xb = np.array([paired[b][k] for k in keys])
        stat, p = wilcoxon_paired(xa, xb)
        pairwise.append({"a": a, "b": b, "n_pairs": len(keys),
                         "mean_difference": float(np.mean(xa - xb)) if keys else float("nan"),
                         "wilcoxon_W": stat, "p": p})
    for row, adj in zip(pairwise, holm([r["p"] for r in pairwise]), strict=True):
        row["p_holm"] = adj
        row["significant_0.05"] = "yes" if adj < 0.05 else "no"
    panel = check_panel(kind, len(kept), [(r["mean"], r["ci95"]) for r in summary + items_rows])
    warnings += [panel.warning] if not panel.ok else []
    warnings += kind.warnings(used)
    extra = kind.extra_tables(used, conditions)
    label = kind.scale.name
    files: list[Path] = []
    caption = f"{label}: mean with 95% CI (t), median, IQR" + ("" if panel.ok else f" ({panel.note})")
    files += write_table(summary, ["condition", "n", "mean", "ci95", "ci95_low", "ci95_high", "median", "q1", "q3",
                                   "iqr"], out_dir / "summary", caption=caption)
    files += write_table(items_rows, ["condition", "item", "n", "mean", "ci95", "median"], out_dir / "items",
                         caption=f"{label} per item")
    files += write_table(pairwise, ["a", "b", "n_pairs", "mean_difference", "wilcoxon_W", "p", "p_holm",
                                    "significant_0.05"], out_dir / "pairwise", digits=4,
                         caption=("Wilcoxon signed-rank tests against no difference, Holm-corrected" if kind.compare == "zero"
                                  else "Pairwise Wilcoxon signed-rank tests, Holm-corrected"))
    for rows, columns, stem, caption in extra:
        files += write_table(rows, columns, out_dir / stem, digits=3, caption=caption)
    if used:
        files.append(box_plot({c: by_cond[c] for c in conditions if by_cond[c]}, out_dir / "boxplot.png", label,
                              kind.scale.plot_limits()))
        files.append(item_plot({c: item_means[c] for c in conditions if item_means[c]}, out_dir / "items.png", label,
                               kind.scale.plot_limits()))
    off = "Post-screening switched off (--no-screening): every assessor is kept."
    report = [*_panel_lines(kind, len(kept), panel.warning, screening), ""]
    report += kind.screening_report(outcome) if screening else [off]
    if screening:
        effect = _screening_effect(ratings, kept, conditions)
        files += write_table(effect, ["condition", "n_kept", "mean_kept", "n_all", "mean_all", "change"],
                             out_dir / "screening_effect", caption="Effect of post-screening on the means")
        report += ["", "## Effect on the results", "", *(out_dir / "screening_effect.md").read_text().splitlines()]
    files.append(_write_screening(report, out_dir / "screening.md"))
    result = Analysis(type=test_type, n_assessors=len(assessors), n_kept=len(kept), excluded=outcome.excluded,
                      skipped_items=outcome.skipped_items, summary=summary, pairwise=pairwise, warnings=warnings,
                      files=[str(p.name) for p in files], panel_ok=panel.ok)
    (out_dir / "analysis.json").write_text(json.dumps(asdict(result), indent=2, allow_nan=True) + "\n")
    return result


def _panel_lines(kind: TestType, n_kept: int, warning: str, screened: bool) -> list[str]:
    """The panel-size paragraph at the top of ``screening.md``."""
    wanted = (f"; {kind.panel_source} expects at least {kind.recommended_panel}" if kind.recommended_panel
              else "; no minimum panel is stated for this test type here, so only the CIs are checked")
    kept = "kept after post-screening" if screened else "in the statistics (post-screening switched off)"
    lines = ["## Panel size", "", f"{n_assessors(n_kept)} {kept}{wanted}."]
    return lines + (["", f"**Warning:** {warning}"] if warning else [])


def _write_screening(report: list[str], path: Path) -> Path:
    path.write_text("\n".join(["# Post-screening", "", *report]) + "\n")
    return path
