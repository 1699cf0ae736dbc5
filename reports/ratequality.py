"""Rate-quality curves: quality against the achieved (measured) bitrate, one line per codec family.

A *family* is a system name without its rate option (run.json ``systems[name].family``: ``opus@6k`` and
``opus@24k`` are both ``opus``; ``opus@12k+spf`` is ``opus+spf``). Systems that spend no bits (the
natural reference, the anchors) are horizontal lines where their mean falls near the codecs' range.
Written for a run with at least two coded systems: per quality metric a plot (PNG + PDF), and one table
(``ratequality.md``, ``ratequality.csv`` and a section of index.html).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from bench.atomic import atomic_path, write_text_atomic
from reports.display import css_colour, metric_name, system_colours, system_name, system_names
from reports.figures import new_figure, save
from reports.plots import place_labels
from reports.roles import family_of
from reports.rundata import BITRATE, Run
from reports.stats import CellStats, describe
from reports.tables import ColumnData, Table, assemble, metric_unit, to_markdown

_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")
#: a reference line is drawn when it lies within this many data ranges of the codecs' points
REFERENCE_MARGIN = 1.0


@dataclass(frozen=True)
class RatePoint:
    """One coded system: its family, achieved bitrate and the statistics of each quality metric."""

    system: str
    family: str
    kbps: CellStats
    quality: dict[str, CellStats]


def grouped_systems(run: Run) -> list[str]:
    """The run's systems with each family's members together (family order: first appearance), ascending by
    nominal bitrate inside a family: ``opus@6k, opus@12k, opus@24k, lc3@16k, ...``."""
    fams = list(dict.fromkeys(family_of(run, s) for s in run.systems))

    def key(s: str) -> tuple[int, float, int]:
        kbps = run.system_info(s).get("nominal_kbps")
        return (fams.index(family_of(run, s)), kbps if isinstance(kbps, (int, float)) else math.inf,
                run.systems.index(s))

    return sorted(run.systems, key=key)


def rate_points(run: Run) -> list[RatePoint]:
    """Every system with a measured bitrate, grouped by family (first appearance), then by achieved kbps."""
    points = []
    for s in run.systems:
        kbps = describe(run.values(s, BITRATE))
        if kbps.n == 0:
            continue
        points.append(RatePoint(s, family_of(run, s), kbps, {m: describe(run.values(s, m)) for m in run.metrics}))
    order = list(dict.fromkeys(p.family for p in points))
    return sorted(points, key=lambda p: (order.index(p.family), p.kbps.mean))


def reference_systems(run: Run) -> list[str]:
    """Systems that spend no bits (reference, anchors): the horizontal lines."""
    return [s for s in run.systems if describe(run.values(s, BITRATE)).n == 0]


def rate_quality_figure(run: Run, metric: str, points: list[RatePoint]) -> tuple[Figure, list[str]]:
    """Quality (mean, 95% CI) against achieved kbps, a line per family in the family's colour, each point
    labelled with its system's display name where no other label or point is (:func:`reports.plots.place_labels`);
    the systems that spend no bits are horizontal grey lines named in the legend, beside the axes.

    Returns:
        (the figure, the reference systems left out because they are far off the codecs' range).
    """
    names, colours = system_names(run), system_colours(run)
    fig, axes = new_figure(5.2, 3.4)
    ax = axes[0, 0]
    families = list(dict.fromkeys(p.family for p in points))
    ys = [p.quality[metric].mean for p in points if math.isfinite(p.quality[metric].mean)]
    lo, hi = (min(ys), max(ys)) if ys else (0.0, 1.0)
    span = max(hi - lo, 1e-9 + 0.05 * max(abs(hi), 1.0))
    labels = []
    for fam in families:
        pts = [p for p in points if p.family == fam and p.quality[metric].n > 0]
        if not pts:
            continue
        x = [p.kbps.mean for p in pts]
        y = [p.quality[metric].mean for p in pts]
        err = [0.0 if math.isnan(p.quality[metric].half_width) else p.quality[metric].half_width for p in pts]
        label = names[pts[0].system] if len(pts) == 1 else system_name(fam)
        ax.errorbar(x, y, yerr=err, marker="o", markersize=4, capsize=3, linewidth=1.4, color=colours[pts[0].system],
                    label=label)
        labels += [(xi, yi, names[p.system]) for p, xi, yi in zip(pts, x, y)]
    left_out = []
    for j, s in enumerate(reference_systems(run)):
        st = describe(run.values(s, metric))
        if st.n == 0:
            continue
        if not (lo - REFERENCE_MARGIN * span <= st.mean <= hi + REFERENCE_MARGIN * span):
            left_out.append(f"{names[s]} ({st.mean:.3g})")
            continue
        ax.axhline(st.mean, color=colours[s], linestyle=("--", ":", "-.")[j % 3], linewidth=1.0, label=names[s])
    hib = run.higher_is_better(metric)
    unit = metric_unit(run, metric)
    arrow = {True: " (↑ better)", False: " (↓ better)", None: ""}[hib]
    ax.set_xlabel("achieved bitrate [kbps] (measured)")
    ax.set_ylabel(f"{metric_name(metric)}{' [' + unit + ']' if unit else ''}{arrow}")
    ax.set_title(f"{metric_name(metric)} against bitrate: mean and 95% CI")
    ax.set_xlim(left=0)
    ax.margins(y=0.12)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=7)  # beside: covers nothing
    place_labels(ax, labels, fontsize=6.5)
    return fig, left_out


def rate_quality_plot(run: Run, metric: str, points: list[RatePoint], stem: Path) -> tuple[list[Path], list[str]]:
    """:func:`rate_quality_figure` as PNG + PDF. Returns (the paths written, the reference systems left out)."""
    fig, left_out = rate_quality_figure(run, metric, points)
    return save(fig, stem), left_out


def rate_quality_table(run: Run, points: list[RatePoint]) -> Table:
    """Rows: coded systems, grouped by family and ordered by achieved kbps; columns: kbps, then each metric."""
    systems = [p.system for p in points]
    names = system_names(run)
    data = [ColumnData(BITRATE, None, "kbps", {s: run.values(s, BITRATE) for s in systems}, metric_name(BITRATE))]
    data += [ColumnData(m, run.higher_is_better(m), metric_unit(run, m), {s: run.values(s, m) for s in systems},
                        metric_name(m)) for m in run.metrics]
    n_items = {s: len({r.utterance for r in run.rows if r.system == s}) for s in systems}
    fams = "; ".join(f"{system_name(f)}: {', '.join(names[p.system] for p in points if p.family == f)}"
                     for f in dict.fromkeys(p.family for p in points))
    notes = [f"Families (one line each in the plots): {fams}.",
             "Bitrate is the achieved bitrate (bits spent / duration), mean ± 95% CI over utterances."]
    # no "best" marks: the rows are at different bitrates
    table = assemble("Rate-quality", systems, data, n_items, exclude_from_best=tuple(systems), notes=notes, names=names)
    colours = system_colours(run)
    for row in table.rows:  # the colour of its curve
        row.colour = css_colour(colours[row.system])
    return table


def write_csv(path: Path, points: list[RatePoint], metrics: list[str]) -> None:
    """``ratequality.csv``: family, system, achieved kbps (mean, CI), metric, n, mean, CI."""
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["family", "system", "kbps_mean", "kbps_ci95_low", "kbps_ci95_high", "metric", "n", "mean",
                    "ci95_low", "ci95_high"])
        for p in points:
            for m in metrics:
                q = p.quality[m]
                w.writerow([p.family, p.system, *(repr(v) for v in (p.kbps.mean, p.kbps.ci95_low, p.kbps.ci95_high)),
                            m, q.n, *(repr(v) for v in (q.mean, q.ci95_low, q.ci95_high))])


def write_rate_quality(run: Run, out: Path, main: list[str] | None = None) -> dict[str, Any] | None:
    """Plots, table and CSV into ``out`` (a report folder); the index.html section, or None when the run has
    fewer than two coded systems. The plots of the ``main`` metrics come first (the page shows the first
    open, the others folded)."""
    points = rate_points(run)
    if len(points) < 2:
        return None
    entries = []
    first = [m for m in (main or []) if m in run.metrics]
    for m in [*first, *(m for m in run.metrics if m not in first)]:
        if not any(p.quality[m].n for p in points):
            continue
        paths, left_out = rate_quality_plot(run, m, points, out / "plots" / f"ratequality_{_UNSAFE.sub('_', m)}")
        rel = [p.relative_to(out).as_posix() for p in paths]
        aside = f" Off the scale, so not drawn: {', '.join(left_out)}." if left_out else ""
        entries.append({"png": rel[0], "pdf": rel[1],
                        "caption": f"{metric_name(m)} against the achieved bitrate, one line per codec family; horizontal "
                                   f"lines: systems that spend no bits.{aside}"})
    table = rate_quality_table(run, points)
    write_text_atomic(out / "ratequality.md", to_markdown(table))
    write_csv(out / "ratequality.csv", points, run.metrics)
    return {"title": "Rate-quality", "entries": entries, "tables": [table]}


__all__ = ["RatePoint", "family_of", "grouped_systems", "rate_points", "rate_quality_figure", "rate_quality_plot",
           "rate_quality_table", "reference_systems", "write_rate_quality"]
