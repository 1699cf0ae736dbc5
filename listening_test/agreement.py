"""Which objective metric agrees with the listeners: correlations of every metric of a run with the scores.

Points: at the **stimulus** level one per (item, condition): the mean listening score against the metric's
value on that utterance and system; at the **system** level one per condition: means over the items.
Each level gets Pearson, Spearman and Kendall coefficients with percentile bootstrap 95% intervals
(seeded): stimulus level resamples the points, system level resamples the items (and recomputes both
sides' condition means), so the interval reflects item variability even with few conditions.

Signs: a metric where lower is better (``lsd``) is negated first, so +1 is perfect agreement for every
metric and the table can be ranked by one number.

Conditions map to run systems by name; the hidden reference maps to system ``reference`` (scores of the
reference itself, written for metrics that need no reference) and otherwise to ``natural`` (the identity
system). Items map to utterances through the test definition; without one, item ids are taken as
utterance ids. Metric values are per utterance, while listeners heard an excerpt of it.

Anchors and the hidden reference are included by default: they are what listeners rated, and a typical
test has 2-4 systems, so a system-level correlation over systems alone rests on too few points to say
anything. ``exclude_anchors`` checks that the agreement is not only the anchors' wide spread.
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from listening_test.definition import HIDDEN_REFERENCE, LOW_ANCHOR, MID_ANCHOR, TestDefinition
from listening_test.ratings import Rating
from reports.tabular import write_table


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.corrcoef(x, y)[0, 1])


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import rankdata

    return _pearson(rankdata(x), rankdata(y))  # ties get average ranks


def _kendall(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(x, y)[0])  # tau-b


COEFFICIENTS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "pearson": _pearson, "spearman": _spearman, "kendall": _kendall}
LEVELS = ("system", "stimulus")
#: the run systems a hidden reference may stand for, in order of preference
REFERENCE_SYSTEMS = ("reference", "natural")


@dataclass(frozen=True)
class AgreementOptions:
    """How to correlate. ``bootstrap``: resamples per interval; ``seed``: makes the intervals reproducible."""

    exclude_anchors: bool = False
    bootstrap: int = 2000
    seed: int = 0


@dataclass
class MetricAgreement:
    """One metric at one level: coefficients with 95% intervals (lists ``[value, low, high]``) and n."""

    metric: str
    level: str
    n: int
    coefficients: dict[str, list[float]]

    def row(self) -> dict[str, object]:
        out: dict[str, object] = {"metric": self.metric, "n": self.n}
        for name, (value, low, high) in self.coefficients.items():
            out[name], out[f"{name}_ci95_low"], out[f"{name}_ci95_high"] = value, low, high
        return out


def _corr(name: str, x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return COEFFICIENTS[name](x, y)


def _interval(samples: list[float]) -> tuple[float, float]:
    s = np.asarray(samples, dtype=float)
    s = s[np.isfinite(s)]
    if len(s) < 10:
        return math.nan, math.nan
    low, high = np.percentile(s, [2.5, 97.5])
    return float(low), float(high)


def correlate(listening: dict[tuple[str, str], float], metric: dict[tuple[str, str], float], level: str,
              opts: AgreementOptions, rng: np.random.Generator) -> tuple[int, dict[str, list[float]]]:
    """Coefficients and bootstrap intervals for one metric at one level.

    Args:
        listening, metric: (item, condition) -> mean listening score / metric value (signs already oriented).
        level: ``system`` (condition means over items; items resampled) or ``stimulus`` (points resampled).
    Returns:
        (n points, coefficient name -> [value, ci95 low, ci95 high]).
    """
    keys = sorted(set(listening) & set(metric))
    items = sorted({i for i, _ in keys})
    conditions = sorted({c for _, c in keys})
    if level == "stimulus":
        x = np.array([metric[k] for k in keys])
        y = np.array([listening[k] for k in keys])
        n = len(keys)
        draws = [rng.integers(0, n, n) for _ in range(opts.bootstrap)]
        resampled = [(x[d], y[d]) for d in draws]
    else:
        by_item = {c: [k for k in keys if k[1] == c] for c in conditions}

        def means(chosen: list[str]) -> tuple[np.ndarray, np.ndarray]:
            weight = {i: chosen.count(i) for i in set(chosen)}
            xs, ys = [], []
            for c in conditions:
                ks = [k for k in by_item[c] if k[0] in weight]
                w = np.array([weight[k[0]] for k in ks], dtype=float)
                if w.sum() == 0:
                    return np.array([]), np.array([])
                xs.append(np.average([metric[k] for k in ks], weights=w))
                ys.append(np.average([listening[k] for k in ks], weights=w))
            return np.array(xs), np.array(ys)

        x, y = means(items)
        n = len(conditions)
        resampled = [means([items[j] for j in rng.integers(0, len(items), len(items))])
                     for _ in range(opts.bootstrap)]
    out = {}
    for name in COEFFICIENTS:
        boot = [_corr(name, bx, by) for bx, by in resampled if len(bx) == n]
        out[name] = [_corr(name, x, y), *_interval(boot)]
    return n, out


def listening_means(ratings: list[Rating], exclude: set[str],
                    item: Callable[[str], str] = str) -> dict[tuple[str, str], float]:
    """(item, condition) -> mean score over assessors, conditions in ``exclude`` left out."""
    acc: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in ratings:
        if r.system not in exclude:
            acc[(item(r.item), r.system)].append(r.score)
    return {k: float(np.mean(v)) for k, v in acc.items()}


def item_of(definition: TestDefinition | None) -> Callable[[str], str]:
    """Maps a rating's item id, or a MOS trial id (webMUSHRA CSVs carry trial ids), to the item id."""
    if definition is None:
        return lambda item: item
    trials = {t.id: t.item for t in definition.trials}
    return lambda item: trials.get(item, item)


def utterance_of(definition: TestDefinition | None) -> Callable[[str], str]:
    """Maps an item id to its utterance; identity without a definition."""
    if definition is None:
        return lambda item: item
    items = {it.id: it.utterance for it in definition.items}
    return lambda item: items.get(item, item)


def metric_values(results: list, conditions: set[str], utterance: Callable[[str], str], items: set[str],
                  higher_is_better: dict[str, bool]) -> dict[str, dict[tuple[str, str], float]]:
    """metric -> (item, condition) -> value (negated for lower-is-better metrics), from run result rows."""
    table: dict[tuple[str, str, str], float] = {(r.utterance, r.system, r.metric): r.value for r in results
                                                if math.isfinite(r.value)}
    out: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    for metric, hib in higher_is_better.items():
        sign = 1.0 if hib else -1.0
        for item in items:
            for cond in conditions:
                systems = REFERENCE_SYSTEMS if cond == HIDDEN_REFERENCE else (cond,)
                for system in systems:
                    v = table.get((utterance(item), system, metric))
                    if v is not None:
                        out[metric][(item, cond)] = sign * v
                        break
    return dict(out)


def points(ratings: list[Rating], results: list, higher_is_better: dict[str, bool],
           definition: TestDefinition | None, opts: AgreementOptions
           ) -> tuple[dict[tuple[str, str], float], dict[str, dict[tuple[str, str], float]]]:
    """The listening means and each metric's (oriented) values, keyed by (item, condition)."""
    exclude = {HIDDEN_REFERENCE, LOW_ANCHOR, MID_ANCHOR} if opts.exclude_anchors else set()
    listening = listening_means(ratings, exclude, item_of(definition))
    items = {i for i, _ in listening}
    conditions = {c for _, c in listening}
    return listening, metric_values(results, conditions, utterance_of(definition), items, higher_is_better)


def analyse_agreement(ratings: list[Rating], results: list, higher_is_better: dict[str, bool],
                      definition: TestDefinition | None, opts: AgreementOptions) -> list[MetricAgreement]:
    """Every metric at both levels, each list ranked by Spearman (best agreement first)."""
    listening, values = points(ratings, results, higher_is_better, definition, opts)
    found: list[MetricAgreement] = []
    for level in LEVELS:
        for metric in sorted(values):
            rng = np.random.default_rng([opts.seed, LEVELS.index(level), len(metric)] + [ord(c) for c in metric])
            n, coefficients = correlate(listening, values[metric], level, opts, rng)
            found.append(MetricAgreement(metric, level, n, coefficients))
    return sorted(found, key=lambda a: (LEVELS.index(a.level), -_rank_key(a)))


def _rank_key(a: MetricAgreement) -> float:
    v = a.coefficients["spearman"][0]
    return v if math.isfinite(v) else -math.inf


def summary_sentence(found: list[MetricAgreement], level: str, top: int = 3) -> str:
    """One sentence naming the best-agreeing metrics at ``level`` with their Spearman intervals."""
    ranked = [a for a in found if a.level == level and math.isfinite(a.coefficients["spearman"][0])][:top]
    if not ranked:
        return f"At the {level} level no metric could be correlated (too few points)."
    parts = [f"{a.metric} (Spearman {a.coefficients['spearman'][0]:.2f}, 95% CI "
             f"[{a.coefficients['spearman'][1]:.2f}, {a.coefficients['spearman'][2]:.2f}], n={a.n})" for a in ranked]
    return f"At the {level} level the listeners agreed best with " + ", then ".join(parts) + "."


def scatter_plot(metric: str, listening: dict[tuple[str, str], float], values: dict[tuple[str, str], float],
                 path: Path, score_label: str, oriented: bool) -> Path:
    """Stimulus points (small) and condition means (large, labelled) with the least-squares line;
    ``path``: a .png, in the suite's figure style."""
    from reports.figures import save

    return save(scatter_figure(metric, listening, values, score_label, oriented), path.with_suffix(""), ("png",))[0]


def scatter_figure(metric: str, listening: dict[tuple[str, str], float], values: dict[tuple[str, str], float],
                   score_label: str, oriented: bool):
    """The figure of :func:`scatter_plot`; condition labels placed so that none overlaps another."""
    from reports.figures import new_figure
    from reports.plots import place_labels

    keys = sorted(set(listening) & set(values))
    sign = -1.0 if oriented else 1.0  # plot the metric's own values
    x = np.array([sign * values[k] for k in keys])
    y = np.array([listening[k] for k in keys])
    fig, axes = new_figure(4.6, 3.8)
    ax = axes[0, 0]
    ax.scatter(x, y, s=12, alpha=0.5, label="stimuli")
    labels = []
    for cond in sorted({c for _, c in keys}):
        sel = [j for j, k in enumerate(keys) if k[1] == cond]
        ax.scatter(x[sel].mean(), y[sel].mean(), s=60, marker="D", edgecolor="k")
        labels.append((float(x[sel].mean()), float(y[sel].mean()), cond))
    if len(keys) >= 2 and np.ptp(x) > 0:
        slope, intercept = np.polyfit(x, y, 1)
        grid = np.linspace(x.min(), x.max(), 2)
        ax.plot(grid, slope * grid + intercept, "k--", lw=1, label=f"fit: {slope:.3g} x + {intercept:.3g}")
    ax.set_xlabel(metric)
    ax.set_ylabel(score_label)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    place_labels(ax, labels)
    return fig


def write_agreement(ratings: list[Rating], test_type: str, run_dir: Path, out_dir: Path,
                    definition: TestDefinition | None, opts: AgreementOptions) -> tuple[list[MetricAgreement], str]:
    """Correlate every metric of ``run_dir`` with ``ratings``; write tables, plots and ``agreement.md``.

    Returns the agreements and the summary sentences. Raises InputError when the run has no results.
    """
    from bench.errors import InputError
    from bench.runfolder.paths import RunDir
    from bench.runfolder.results import read_results_csv
    from metrics import METRICS

    results_csv = RunDir(run_dir).results_csv
    if not results_csv.is_file():
        raise InputError(f"{results_csv}: no results (is {run_dir} a finished `bench run` folder?)")
    results = read_results_csv(results_csv)
    hib = {m: METRICS.get(m).spec.higher_is_better for m in sorted({r.metric for r in results}) if m in METRICS}
    found = analyse_agreement(ratings, results, hib, definition, opts)
    if not any(a.n for a in found):
        raise InputError(f"{run_dir}: none of the rated items and conditions has metric values in the run "
                         "(was the test built from this run?)")
    out_dir.mkdir(parents=True, exist_ok=True)
    columns = ["metric", "n"] + [f"{c}{s}" for c in COEFFICIENTS for s in ("", "_ci95_low", "_ci95_high")]
    from listening_test.testtypes import get_test_type

    label = get_test_type(test_type).scale.name  # MUSHRA score, MOS
    scope = "anchors and hidden reference excluded" if opts.exclude_anchors else "anchors and hidden reference included"
    files = []
    for level in LEVELS:
        files += write_table([a.row() for a in found if a.level == level], columns, out_dir / f"agreement_{level}",
                             digits=3, caption=(f"Agreement of objective metrics with the {label} at the {level} "
                                                f"level ({scope}; bootstrap 95% CI, {opts.bootstrap} resamples, "
                                                f"seed {opts.seed}; ranked by Spearman)"))
    listening, values = points(ratings, results, hib, definition, opts)
    plots = [scatter_plot(m, listening, v, out_dir / f"agreement_{m}.png", label, not hib[m])
             for m, v in sorted(values.items())]
    sentences = " ".join(summary_sentence(found, level) for level in LEVELS)
    md = ["# Objective metrics against the listeners", "", sentences, "",
          f"Signs of lower-is-better metrics are flipped, so +1 is perfect agreement. {scope.capitalize()}.", ""]
    for level in LEVELS:
        md += [(out_dir / f"agreement_{level}.md").read_text(), ""]
    md += [f"![{p.stem}]({p.name})" for p in plots]
    (out_dir / "agreement.md").write_text("\n".join(md) + "\n")
    return found, sentences


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The agreement options of ``bench listen analyze`` and ``bench listen import``."""
    p.add_argument("--against", type=Path, metavar="RUN",
                   help="run folder the test was built from: correlate its metrics with the scores")
    p.add_argument("--exclude-anchors", action="store_true",
                   help="leave the anchors and the hidden reference out of the correlations (default: included, "
                        "since with few systems a correlation over systems alone rests on too few points)")
    p.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples per interval (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")


def run_from_args(args: argparse.Namespace, ratings: list[Rating], test_type: str, out: Path,
                  definition: TestDefinition | None) -> None:
    """The CLI hook: nothing without ``--against``; prints the summary sentences and where the files are."""
    if args.against is None:
        return
    from bench.errors import InputError, UsageError
    from listening_test.testtypes import get_test_type

    if get_test_type(test_type).compare != "pairwise":
        raise UsageError(f"--against: a {test_type} test does not score each condition on its own; "
                         "the agreement analysis needs absolute scores (mushra, mos)")
    if args.bootstrap < 100:
        raise UsageError("--bootstrap must be at least 100")
    try:
        _, sentences = write_agreement(ratings, test_type, args.against, out, definition,
                                       AgreementOptions(args.exclude_anchors, args.bootstrap, args.seed))
    except InputError as exc:
        raise UsageError(str(exc)) from exc
    print(sentences)
    print(f"agreement tables and scatter plots in {out} (agreement.md)")
