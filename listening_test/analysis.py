"""``bench listen analyze``: post-screening, per-condition statistics, pairwise tests, tables and plots."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np

from listening_test.definition import HIDDEN_REFERENCE, LOW_ANCHOR, MID_ANCHOR
from listening_test.plots import box_plot, item_plot
from listening_test.ratings import Rating
from listening_test.screening import Screening, screen_mushra
from listening_test.stats import holm, summarise, wilcoxon_paired
from listening_test.tables import write_table

HIGH_SCORE_WARNING = 0.5  # warn when more than half of the non-reference scores lie in 80-100


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


def condition_order(conditions: set[str], systems: list[str] | None = None) -> list[str]:
    """Hidden reference first, then systems (given order, else sorted), then mid and low anchor."""
    head = [c for c in (HIDDEN_REFERENCE,) if c in conditions]
    tail = [c for c in (MID_ANCHOR, LOW_ANCHOR) if c in conditions]
    middle = [s for s in (systems or []) if s in conditions]
    middle += sorted(conditions - set(head) - set(tail) - set(middle))
    return head + middle + tail


def analyse(ratings: list[Rating], test_type: str, out_dir: Path, systems: list[str] | None = None) -> Analysis:
    """Screen (MUSHRA), summarise and test; write tables (CSV/MD/LaTeX), plots and ``analysis.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if not ratings:
        raise ValueError("no ratings to analyse")
    assessors = sorted({r.assessor for r in ratings})
    if test_type == "mushra":
        screening = screen_mushra(ratings)
    else:
        screening = Screening(kept=assessors, excluded={}, skipped_items=[])
    kept = set(screening.kept)
    used = [r for r in ratings if r.assessor in kept]
    warnings: list[str] = []
    if not used:
        warnings.append("every assessor was excluded by post-screening: no statistics")
    conditions = condition_order({r.system for r in ratings}, systems)
    by_cond: dict[str, list[float]] = defaultdict(list)
    by_item: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    paired: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    for r in used:
        by_cond[r.system].append(r.score)
        by_item[r.system][r.item].append(r.score)
        paired[r.system][(r.assessor, r.item)] = r.score
    scale = (0.0, 100.0) if test_type == "mushra" else (1.0, 5.0)
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
    pairwise = []
    for a, b in combinations(conditions, 2):
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
    if test_type == "mushra":
        rated = [r.score for r in used if r.system != HIDDEN_REFERENCE]
        share = float(np.mean([80 <= s <= 100 for s in rated])) if rated else 0.0
        if share > HIGH_SCORE_WARNING:
            warnings.append(f"{100 * share:.0f}% of the scores (hidden reference excluded) lie between 80 and 100: "
                            "the test probably does not discriminate between the conditions")
    label = "MUSHRA score" if test_type == "mushra" else "MOS"
    files: list[Path] = []
    files += write_table(summary, ["condition", "n", "mean", "ci95", "ci95_low", "ci95_high", "median", "q1", "q3",
                                   "iqr"], out_dir / "summary", caption=f"{label}: mean with 95% CI (t), median, IQR")
    files += write_table(items_rows, ["condition", "item", "n", "mean", "ci95", "median"], out_dir / "items",
                         caption=f"{label} per item")
    files += write_table(pairwise, ["a", "b", "n_pairs", "mean_difference", "wilcoxon_W", "p", "p_holm",
                                    "significant_0.05"], out_dir / "pairwise", digits=4,
                         caption="Pairwise Wilcoxon signed-rank tests, Holm-corrected")
    if used:
        files.append(box_plot({c: by_cond[c] for c in conditions if by_cond[c]}, out_dir / "boxplot.png", label,
                              (scale[0] - 0.05 * (scale[1] - scale[0]), scale[1] + 0.05 * (scale[1] - scale[0]))))
        files.append(item_plot({c: item_means[c] for c in conditions if item_means[c]}, out_dir / "items.png", label,
                               (scale[0] - 0.05 * (scale[1] - scale[0]), scale[1] + 0.05 * (scale[1] - scale[0]))))
    result = Analysis(type=test_type, n_assessors=len(assessors), n_kept=len(kept), excluded=screening.excluded,
                      skipped_items=screening.skipped_items, summary=summary, pairwise=pairwise, warnings=warnings,
                      files=[str(p.name) for p in files])
    files.append(_write_screening(screening, test_type, out_dir / "screening.md"))
    result.files.append("screening.md")
    (out_dir / "analysis.json").write_text(json.dumps(asdict(result), indent=2, allow_nan=True) + "\n")
    return result


def _write_screening(s: Screening, test_type: str, path: Path) -> Path:
    lines = ["# Post-screening", ""]
    if test_type != "mushra":
        lines.append("MOS test: no BS.1534-3 post-screening (no hidden reference / anchors).")
    else:
        lines += [(f"Rules (ITU-R BS.1534-3): hidden reference < 90 on > 15% of items, or {MID_ANCHOR} > 90 on > 15% "
                  "of items (items where > 25% of assessors rate it > 90 are skipped for this rule)."), "",
                  f"Items skipped for the mid-anchor rule: {', '.join(s.skipped_items) or 'none'}", "",
                  "| assessor | items | reference < 90 | anchor > 90 | decision |", "|---|---|---|---|---|"]
        for a, c in sorted(s.counts.items()):
            decision = "excluded: " + s.excluded[a] if a in s.excluded else "kept"
            lines.append(f"| {a} | {c['items']} | {c['reference_below_90']} | {c['anchor_above_90']} | {decision} |")
    path.write_text("\n".join(lines) + "\n")
    return path
