"""The one-paragraph summary at the top of index.html, generated from the numbers.

For each report metric: the best system under test (the reference and anchors are not candidates), and
whether it is significantly better than each other system (two-sided Wilcoxon signed-rank test over the
utterances both have, Holm-corrected over the pairwise comparisons of that metric, alpha = 0.05); then
what failed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from bench.runfolder.results import SKIPPED_INPUT
from bench.runfolder.summary import planned_rows
from bench.stats import holm, wilcoxon_signed_rank
from reports.display import metric_name, system_names
from reports.roles import SYSTEM, role
from reports.rundata import Run
from reports.stats import describe
from reports.tables import decimals_for

ALPHA = 0.05


@dataclass(frozen=True)
class Comparison:
    """One paired comparison of two systems on one metric (``a`` is the better mean)."""

    metric: str
    a: str
    b: str
    n: int
    p_value: float
    p_holm: float

    @property
    def significant(self) -> bool:
        return self.p_holm <= ALPHA


def paired_values(run: Run, metric: str, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
    """``[N]`` values of systems a and b on the utterances where both are finite (same order)."""
    va, vb = run.value_map(a, metric), run.value_map(b, metric)
    pairs = [(va.get(u, np.nan), vb.get(u, np.nan)) for u in run.utterances]
    arr = np.array([p for p in pairs if np.isfinite(p[0]) and np.isfinite(p[1])], dtype=float).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def compare(run: Run, metric: str, systems: list[str]) -> list[Comparison]:
    """Every pair of ``systems`` on ``metric``, Holm-corrected together; ``a`` is the better of each pair."""
    hib = run.higher_is_better(metric)
    means = {s: describe(run.values(s, metric)).mean for s in systems}
    raw = []
    for s, t in itertools.combinations(systems, 2):
        if not (np.isfinite(means[s]) and np.isfinite(means[t])):
            continue
        better_s = (means[s] >= means[t]) == bool(hib)
        a, b = (s, t) if better_s else (t, s)
        x, y = paired_values(run, metric, a, b)
        if x.size == 0:
            continue
        raw.append((a, b, x.size, wilcoxon_signed_rank(x, y).p_value))
    adjusted = holm([r[3] for r in raw]) if raw else []
    return [Comparison(metric, a, b, n, p, q) for (a, b, n, p), q in zip(raw, adjusted)]


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def summary_paragraph(run: Run, metrics: list[str]) -> str:
    """Plain text: best system per metric (metrics with the same outcome grouped), which differences are
    significant, and the failures; a run that is not complete says so first, with what is missing."""
    candidates = [s for s in run.systems if role(run, s) == SYSTEM]
    names = system_names(run)
    n_utts = len(run.utterances)
    parts = [f"{len(candidates)} system{'s' if len(candidates) != 1 else ''} under test on {n_utts} utterances."]
    partial = run.info.get("status", "complete") != "complete"
    if partial:
        planned = {k for k in planned_rows(run.info) if k[2] != SKIPPED_INPUT}  # rejected inputs are listed apart
        missing = len(planned - {r.key for r in run.rows})
        parts.insert(0, f"This run is partial (status {run.info.get('status')!r}): {missing} of the {len(planned)} "
                        "planned results are missing, so every number below covers only what was computed; "
                        "rerun its `bench run` command to finish it.")
    if not candidates:
        parts.append("Only the reference and anchors were run, so there is no ranking.")
    outcomes: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[str]] = {}
    n_pairs = 0
    for m in metrics:
        hib = run.higher_is_better(m)
        if hib is None or not candidates:
            continue
        decimals = decimals_for([describe(run.values(s, m)).mean for s in run.systems])  # as in the tables
        means = {s: describe(run.values(s, m)).mean for s in candidates}
        finite = {s: v for s, v in means.items() if np.isfinite(v)}
        if not finite:
            parts.append(f"{metric_name(m)}: no system has a value.")
            continue
        best = (max if hib else min)(finite, key=finite.__getitem__)
        comps = [c for c in compare(run, m, list(finite)) if best in (c.a, c.b)] if len(finite) > 1 else []
        n_pairs = max(n_pairs, len(finite) * (len(finite) - 1) // 2)
        wins = tuple(c.b for c in comps if c.a == best and c.significant)
        ties = tuple(c.b if c.a == best else c.a for c in comps if not c.significant)
        outcomes.setdefault((best, wins, ties), []).append(f"{metric_name(m)} ({finite[best]:.{decimals}f})")
    for (best, wins, ties), ms in outcomes.items():
        text = f"{names[best]} is best on {_join(ms)}"
        if wins and not ties:
            text += ", significantly better than every other system"
        elif wins:
            text += f", significantly better than {_join([names[s] for s in wins])} but not than " \
                    f"{_join([names[s] for s in ties])}"
        elif ties:
            text += f", not significantly better than {_join([names[s] for s in ties])}"
        parts.append(text + ".")
    if n_pairs and n_pairs * 2.0 ** (1 - n_utts) > ALPHA:
        parts.append(f"With {n_utts} utterances no difference can be significant (the smallest exact p-value, "
                     f"2/2^{n_utts}, times {n_pairs} comparisons exceeds {ALPHA}): evaluate more utterances.")
    failures = run.failures()
    if failures:
        by_system: dict[str, int] = {}
        for f in failures:
            key = names.get(f.system, f.system) if f.system else "(run)"
            by_system[key] = by_system.get(key, 0) + 1
        listed = ", ".join(f"{s} {k}" for s, k in by_system.items())
        parts.append(f"{len(failures)} item{'s' if len(failures) != 1 else ''} failed ({listed}); see Failures.")
    else:
        parts.append("Nothing that was computed failed." if partial else "Nothing failed.")
    parts.append("Significance: two-sided Wilcoxon signed-rank test over paired utterances, Holm-corrected over "
                 f"the pairs of systems per metric, alpha {ALPHA}; the reference and anchors are not ranked.")
    return " ".join(parts)


def significance_matrix(run: Run, metric: str) -> dict | None:
    """The systems under test x systems under test on ``metric``: each cell ``{"text", "p", "better"}``, where
    ``better`` says whether the row system is significantly better ("yes"), worse ("no") or neither ("") than
    the column system, by the Holm-corrected Wilcoxon tests of :func:`compare`. ``None`` without a direction
    or with fewer than two systems."""
    if run.higher_is_better(metric) is None:
        return None
    systems = [s for s in run.systems if role(run, s) == SYSTEM]
    if len(systems) < 2:
        return None
    names = system_names(run)
    by_pair = {}
    for c in compare(run, metric, systems):
        by_pair[(c.a, c.b)] = (c, "yes")
        by_pair[(c.b, c.a)] = (c, "no")
    rows = []
    for r in systems:
        cells = []
        for col in systems:
            if r == col or (r, col) not in by_pair:
                cells.append({"text": "" if r == col else "n/a", "p": None, "better": ""})
                continue
            c, side = by_pair[(r, col)]
            mark = ("▲" if side == "yes" else "▼") if c.significant else "–"
            cells.append({"text": f"{mark} {c.p_holm:.3g}", "p": c.p_holm, "better": side if c.significant else ""})
        rows.append({"system": r, "label": names[r], "cells": cells})
    return {"metric": metric, "label": metric_name(metric), "systems": systems, "names": [names[s] for s in systems],
            "rows": rows}


__all__ = ["ALPHA", "Comparison", "compare", "paired_values", "significance_matrix", "summary_paragraph"]
