"""Is the panel large enough? The number of assessors a result rests on, against what the test type's
recommendation expects, and whether its confidence intervals stay on the scale.

The expected panel is declared on each test type (:attr:`TestType.recommended_panel` with its source); a
type without a sourced number is still flagged when a 95% CI reaches outside the rating scale (with one
or two assessors it always does, or is undefined).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from listening_test.testtypes.base import TestType


def assessors(n: int) -> str:
    """``"1 assessor"``, ``"2 assessors"``."""
    return f"{n} assessor{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class PanelCheck:
    """The verdict on a panel: ``ok`` and, when not, the warning (one sentence) and a short note for captions."""

    n: int
    ok: bool
    warning: str = ""
    note: str = ""


def _off_scale(kind: TestType, intervals: Iterable[tuple[float, float]]) -> bool:
    """Whether any (mean, CI half-width) pair has no CI or one reaching outside the scale."""
    lo, hi = kind.scale.low, kind.scale.high
    return any(math.isfinite(m) and (not math.isfinite(h) or m - h < lo or m + h > hi) for m, h in intervals)


def check_panel(kind: TestType, n_kept: int, intervals: Iterable[tuple[float, float]] = ()) -> PanelCheck:
    """Compare ``n_kept`` assessors (after post-screening) with ``kind``'s recommended panel.

    Args:
        intervals: (mean, 95% CI half-width) of each condition and each item; a CI that is undefined or
            reaches outside the scale flags the panel whatever the recommendation.
    """
    who = assessors(n_kept)
    wanted = kind.recommended_panel
    off = _off_scale(kind, intervals)
    if n_kept == 0 or ((wanted is None or n_kept >= wanted) and not off):
        return PanelCheck(n_kept, True)
    if wanted is not None and n_kept < wanted:
        why = f"below the {wanted} that {kind.panel_source} expects after post-screening"
    else:
        why = "too few for these confidence intervals"
    ci = ("95% CIs reach outside the " f"{kind.scale.low:g}-{kind.scale.high:g} scale or are undefined"
          if off else "95% CIs rest on too few listeners")
    warning = f"{who}: {why}; {ci}, so they are not shown as reliable. Collect more assessors before drawing conclusions."
    return PanelCheck(n_kept, False, warning, f"{who}, {why}: CIs not reliable")
