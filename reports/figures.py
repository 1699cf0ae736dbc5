"""Matplotlib set-up shared by every plot: the Agg backend, one style, PNG + PDF output."""

from __future__ import annotations

import types
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # headless; must precede pyplot
import matplotlib.pyplot as plt
from fontTools import subset as font_subset
from matplotlib.backends import _backend_pdf_ps
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


#: OpenType layout tables: shaping rules (ligatures, kerning pairs, mark positions) for text engines
LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH")


class LayoutFreeSubsetOptions(font_subset.Options):
    """fontTools subsetting options that leave the OpenType layout tables out of a font subset.

    PDFs embed each font as a TrueType subset (``pdf.fonttype`` 42). Matplotlib places every glyph itself, so a
    PDF viewer never reads the subset's layout tables; fontTools still decompiles and subsets them, which was
    about 70% of the time a PDF took (two fonts per figure, ~50 figures in a report of the default metrics). The
    glyphs, their outlines, widths and character map are the same either way."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.layout_features = []
        self.drop_tables = [*self.drop_tables, *LAYOUT_TABLES]


class _LayoutFreeSubsetting(types.ModuleType):
    """``fontTools.subset`` as matplotlib's PDF backend sees it: the same, with :class:`LayoutFreeSubsetOptions`."""

    Options = LayoutFreeSubsetOptions

    def __getattr__(self, name: str) -> object:
        return getattr(font_subset, name)


# only where matplotlib subsets through fontTools.subset as it does today; otherwise its own subsetting stands
if getattr(_backend_pdf_ps, "subset", None) is font_subset:
    _backend_pdf_ps.subset = _LayoutFreeSubsetting(font_subset.__name__)


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


__all__ = ["LAYOUT_TABLES", "PALETTE", "STYLE", "LayoutFreeSubsetOptions", "colour", "new_figure", "plt", "save"]
