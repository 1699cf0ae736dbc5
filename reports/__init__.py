"""Reports of a run folder: summary tables (Markdown, LaTeX), plots, index.html and the demo page.

``build_report`` is what ``bench report`` and the end of ``bench run`` call. The statistics come from
``bench.stats`` (the same definition that writes summary.csv). ``build_report`` is imported on first use
so that ``import reports`` does not load matplotlib.
"""

from __future__ import annotations

from typing import Any

from reports.stats import CellStats, describe, summarize

__all__ = ["CellStats", "build_report", "describe", "summarize"]


def __getattr__(name: str) -> Any:
    if name == "build_report":
        from reports.build import build_report

        return build_report
    raise AttributeError(f"module 'reports' has no attribute {name!r}")
