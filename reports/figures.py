"""Matplotlib set-up shared by every plot: the Agg backend, one style, PNG + PDF output."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # headless; must precede pyplot
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from bench.atomic import atomic_path
from reports.display import PALETTE

STYLE = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "pdf.fonttype": 42,  # TrueType in PDFs (editable text, accepted by conference checkers)
    "savefig.dpi": 150,
}


def new_figure(
    width: float, height: float, nrows: int = 1, ncols: int = 1, *, sharex: bool = False, sharey: bool = False
) -> tuple[Figure, np.ndarray]:
    """A figure (inches) and its ``[nrows, ncols]`` array of axes, in the suite's style."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False, sharex=sharex, sharey=sharey)
    return fig, axes


def save(fig: Figure, stem: Path, formats: tuple[str, ...] = ("png", "pdf")) -> list[Path]:
    """Write ``stem.png`` and ``stem.pdf`` (atomically) and close the figure. Returns the paths written."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    with plt.rc_context(STYLE):
        for fmt in formats:
            path = stem.with_name(stem.name + "." + fmt)
            with atomic_path(path) as tmp:
                fig.savefig(tmp, bbox_inches="tight", format=fmt)
            paths.append(path)
    plt.close(fig)
    return paths


def colour(i: int) -> tuple[float, float, float]:
    """The i-th colour of the palette (cycling), for lines that are not systems (runs, samplers); a system's
    colour is :func:`reports.display.system_colour`."""
    return PALETTE[i % len(PALETTE)]


__all__ = ["PALETTE", "STYLE", "colour", "new_figure", "plt", "save"]
