"""Box plots and per-item plots of listening-test scores, in the suite's figure style (:mod:`reports.figures`)."""

from __future__ import annotations

from pathlib import Path

from reports.figures import new_figure, save


def box_plot(scores: dict[str, list[float]], path: Path, ylabel: str, ylim: tuple[float, float]) -> Path:
    """One box per condition (median, IQR, whiskers 1.5 IQR) with the mean marked; ``path``: a .png."""
    names = list(scores)
    fig, axes = new_figure(max(4.0, 1.1 * len(names) + 1.5), 4.0)
    ax = axes[0, 0]
    ax.boxplot([scores[n] for n in names], showmeans=True, meanprops={"marker": "D", "markersize": 5})
    ax.set_xticks(range(1, len(names) + 1), names, rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_ylim(*ylim)
    ax.grid(axis="y", alpha=0.3)
    return save(fig, path.with_suffix(""), ("png",))[0]


def item_plot(means: dict[str, dict[str, tuple[float, float]]], path: Path, ylabel: str,
              ylim: tuple[float, float]) -> Path:
    """Mean and 95% CI per item (x axis) for every condition (one marker series each); ``path``: a .png.

    Args:
        means: condition -> item -> (mean, ci95 half-width).
    """
    return save(item_figure(means, ylabel, ylim), path.with_suffix(""), ("png",))[0]


def item_figure(means: dict[str, dict[str, tuple[float, float]]], ylabel: str, ylim: tuple[float, float]):
    """The figure of :func:`item_plot`; its legend sits right of the axes, never over the points."""
    conditions = list(means)
    items = sorted({i for m in means.values() for i in m})
    fig, axes = new_figure(max(5.0, 0.8 * len(items) + 3), 4.2)
    ax = axes[0, 0]
    width = 0.8 / max(1, len(conditions))
    for k, cond in enumerate(conditions):
        xs = [i + (k - (len(conditions) - 1) / 2) * width for i in range(len(items))]
        ys = [means[cond].get(it, (float("nan"), float("nan")))[0] for it in items]
        es = [means[cond].get(it, (float("nan"), float("nan")))[1] for it in items]
        ax.errorbar(xs, ys, yerr=es, fmt="o", capsize=2, markersize=4, label=cond)
    ax.set_xticks(range(len(items)), items, rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_ylim(*ylim)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return fig
