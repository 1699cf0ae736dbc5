"""Statistical plots of a run: per-metric bar charts with 95% CIs and box plots, the magnitude-vs-phase scatter."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox, blended_transform_factory

from bench.runfolder.results import RAW_METRICS
from reports.display import metric_name, system_colours, system_names
from reports.figures import colour, new_figure, save
from reports.rundata import BITRATE, Run
from reports.stats import describe

#: Metrics that see the waveform / phase (the rest are magnitude-only or perceptual).
PHASE_METRICS = ("si_sdr", "snr", "seg_snr", "sdr", "wave_corr", "waveform_corr", "phase_distance", "phase_dist",
                 *RAW_METRICS.values())
#: Default axes of the scatter (the paper's point: magnitude quality vs phase preservation).
DEFAULT_SCATTER = ("pesq_wb", "si_sdr")


def _label(run: Run, metric: str) -> str:
    unit = "kbps" if metric == BITRATE else run.metric_info(metric).get("unit") or ""
    hib = run.higher_is_better(metric)
    arrow = {True: " (↑ better)", False: " (↓ better)", None: ""}[hib]
    return f"{metric_name(metric)}{' [' + unit + ']' if unit else ''}{arrow}"


def shown(run: Run, exclude: tuple[str, ...]) -> list[str]:
    """Systems in the plots: all but the reference (its capped, trivial scores would squash the axes)."""
    return [s for s in run.systems if s not in exclude] or run.systems


def bar_figure(run: Run, metric: str, exclude: tuple[str, ...] = ("natural", "reference")) -> Figure:
    """Mean per system with 95% CI whiskers; a system with no finite value is marked "failed" (or "n/a": the
    metric does not apply, e.g. the bitrate of an anchor) half-way up the axes, clear of the axis."""
    systems = shown(run, exclude)
    names, colours = system_names(run), system_colours(run)
    fig, axes = new_figure(max(3.0, 0.55 * len(systems) + 1.2), 2.6)
    ax = axes[0, 0]
    middle = blended_transform_factory(ax.transData, ax.transAxes)
    for i, s in enumerate(systems):
        st = describe(run.values(s, metric))
        if st.n == 0:
            ax.text(i, 0.5, "failed" if st.n_failed else "n/a", transform=middle, ha="center", va="center",
                    rotation=90, fontsize=7, color="firebrick" if st.n_failed else "0.35")
            continue
        err = None if math.isnan(st.half_width) else [[st.half_width], [st.half_width]]
        ax.bar(i, st.mean, color=colours[s], yerr=err, capsize=3, width=0.7)
    ax.set_xticks(range(len(systems)), [names[s] for s in systems], rotation=30, ha="right")
    ax.set_xlim(-0.6, len(systems) - 0.4)
    ax.set_ylabel(_label(run, metric))
    ax.axhline(0, color="0.3", linewidth=0.6)
    ax.set_title(f"{metric_name(metric)}: mean and 95% CI")
    return fig


def bar_chart(run: Run, metric: str, stem: Path, exclude: tuple[str, ...] = ("natural", "reference")) -> list[Path]:
    """:func:`bar_figure` as PNG + PDF."""
    return save(bar_figure(run, metric, exclude), stem)


def box_plot(run: Run, metric: str, stem: Path, exclude: tuple[str, ...] = ("natural", "reference")) -> list[Path]:
    """Distribution of per-utterance values for each system (failed values left out, counted in the label)."""
    systems = shown(run, exclude)
    names, colours = system_names(run), system_colours(run)
    fig, axes = new_figure(max(3.0, 0.55 * len(systems) + 1.2), 2.6)
    ax = axes[0, 0]
    data, labels = [], []
    for s in systems:
        v = np.asarray(run.values(s, metric), dtype=float)
        finite = v[np.isfinite(v)]
        data.append(finite if finite.size else np.array([np.nan]))
        failed = int(v.size - finite.size)
        labels.append(f"{names[s]}\n({failed} failed)" if failed else names[s])
    parts = ax.boxplot(data, patch_artist=True, widths=0.6, showfliers=True, medianprops={"color": "black"})
    for s, box in zip(systems, parts["boxes"]):
        box.set_facecolor(colours[s])
        box.set_alpha(0.6)
    ax.set_xticks(range(1, len(systems) + 1), labels, rotation=30, ha="right")
    ax.set_ylabel(_label(run, metric))
    ax.set_title(f"{metric_name(metric)}: per-utterance values")
    return save(fig, stem)


def scatter_axes(run: Run, requested: tuple[str, str] | None) -> tuple[str, str] | None:
    """The (x = magnitude, y = phase) metrics for the scatter: the request, pesq_wb vs si_sdr, or a fallback."""
    if requested is not None:
        return requested
    metrics = run.metrics
    x = DEFAULT_SCATTER[0] if DEFAULT_SCATTER[0] in metrics else next((m for m in metrics if m not in PHASE_METRICS), None)
    y = DEFAULT_SCATTER[1] if DEFAULT_SCATTER[1] in metrics else next((m for m in metrics if m in PHASE_METRICS), None)
    if x is None or y is None or x == y:
        return None
    return x, y


#: Label offsets tried around a point (points; nearest first), for labels that do not overlap.
_OFFSETS = [(dx * r, dy * r) for r in (5, 11, 18, 26) for dx, dy in
            ((1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1.4), (0, -1.4))]


def place_labels(ax: Any, points: list[tuple[float, float, str]], fontsize: float = 7) -> list[Any]:
    """Annotate each (x, y, text) next to its point so that no two labels overlap and no label covers a point.

    Greedy: each label takes the first offset (nearest first) whose box is free and inside the axes; when none
    is, the least-overlapping one with a thin leader line. Returns the annotations (in the order given)."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    pts = [ax.transData.transform((x, y)) for x, y, _ in points]
    point_boxes = [Bbox.from_extents(px - 3, py - 3, px + 3, py + 3) for px, py in pts]
    placed: list[Bbox] = []
    out: list[Any] = []
    for (x, y, text), _ in zip(points, pts):
        best = None
        for dx, dy in _OFFSETS:
            ann = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                              ha="left" if dx > 0 else "right" if dx < 0 else "center",
                              va="bottom" if dy > 0 else "top" if dy < 0 else "center")
            box = ann.get_window_extent(renderer)
            clash = sum(box.overlaps(b) for b in placed) + sum(box.overlaps(b) for b in point_boxes)
            outside = not (inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1)
            score = clash * 10 + outside
            if best is None or score < best[0]:
                if best is not None:
                    best[1].remove()
                best = (score, ann, box, (dx, dy))
            else:
                ann.remove()
            if score == 0:
                break
        assert best is not None
        _, ann, box, (dx, dy) = best
        if max(abs(dx), abs(dy)) > 11:  # away from its point: a leader line says which point it names
            ann.remove()
            ann = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                              ha="left" if dx > 0 else "right" if dx < 0 else "center",
                              va="bottom" if dy > 0 else "top" if dy < 0 else "center",
                              arrowprops={"arrowstyle": "-", "color": "0.5", "linewidth": 0.5})
        placed.append(box)
        out.append(ann)
    return out


def scatter(run: Run, x_metric: str, y_metric: str, stem: Path, exclude: tuple[str, ...] = ("natural", "reference")) -> list[Path]:
    """Per-system means of a magnitude metric (x) against a phase metric (y), CI whiskers on both axes;
    labels placed so that they do not overlap."""
    fig = scatter_figure(run, x_metric, y_metric, exclude)
    return save(fig, stem)


def scatter_figure(run: Run, x_metric: str, y_metric: str, exclude: tuple[str, ...] = ("natural", "reference")) -> Figure:
    """The figure of :func:`scatter`: one point per system in its colour, labelled with its display name."""
    names, colours = system_names(run), system_colours(run)
    fig, axes = new_figure(4.0, 3.2)
    ax = axes[0, 0]
    labels = []
    for s in shown(run, exclude):
        sx, sy = describe(run.values(s, x_metric)), describe(run.values(s, y_metric))
        if sx.n == 0 or sy.n == 0:
            continue
        xerr = None if math.isnan(sx.half_width) else sx.half_width
        yerr = None if math.isnan(sy.half_width) else sy.half_width
        ax.errorbar(sx.mean, sy.mean, xerr=xerr, yerr=yerr, fmt="o", color=colours[s], capsize=3, label=names[s])
        labels.append((sx.mean, sy.mean, names[s]))
    ax.set_xlabel(_label(run, x_metric))
    ax.set_ylabel(_label(run, y_metric))
    ax.set_title(f"{metric_name(y_metric)} vs {metric_name(x_metric)} (mean, 95% CI)")
    ax.grid(alpha=0.3)
    ax.margins(0.12)
    place_labels(ax, labels)
    return fig


def comparison_bars(runs: list[Run], systems: list[str], metric: str, stem: Path) -> list[Path]:
    """Grouped bars: for each system one bar per run (mean and 95% CI)."""
    k = len(runs)
    fig, axes = new_figure(max(3.5, 0.35 * k * len(systems) + 1.5), 2.8)
    ax = axes[0, 0]
    width = 0.8 / k
    for j, run in enumerate(runs):
        xs, means, errs = [], [], []
        for i, s in enumerate(systems):
            st = describe(run.values(s, metric))
            if st.n == 0:
                continue
            xs.append(i - 0.4 + width * (j + 0.5))
            means.append(st.mean)
            errs.append(0.0 if math.isnan(st.half_width) else st.half_width)
        ax.bar(xs, means, width=width * 0.95, yerr=errs, capsize=2, color=colour(j), label=run.label)
    names = system_names(runs[0], systems)
    ax.set_xticks(range(len(systems)), [names[s] for s in systems], rotation=30, ha="right")
    ax.set_ylabel(_label(runs[0], metric))
    ax.axhline(0, color="0.3", linewidth=0.6)
    ax.legend(frameon=False)
    ax.set_title(f"{metric_name(metric)}: mean and 95% CI per run")
    return save(fig, stem)


__all__ = ["DEFAULT_SCATTER", "PHASE_METRICS", "bar_chart", "bar_figure", "box_plot", "comparison_bars", "place_labels",
           "scatter", "scatter_axes", "scatter_figure", "shown"]
