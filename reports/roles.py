"""What each system of a run is for: the natural reference, a listening-test anchor, or a system under test.

The reference and the anchors are never marked best in a table, are hidden by default on the demo page
and are left out of the summary paragraph's ranking. run.json may state a system's ``role``; otherwise the
registered names decide (``natural`` and the ``reference`` pseudo-system of the no-reference metrics;
``anchor35``/``anchor70``).
"""

from __future__ import annotations

import re

from reports.rundata import Run

REFERENCE = "reference"
ANCHOR = "anchor"
SYSTEM = "system"
#: registered system names with a fixed role
NAMED_ROLES = {"natural": REFERENCE, "reference": REFERENCE, "anchor35": ANCHOR, "anchor70": ANCHOR}


def role(run: Run, system: str) -> str:
    """``"reference"``, ``"anchor"`` or ``"system"``."""
    given = run.system_info(system).get("role")
    if given in (REFERENCE, ANCHOR, SYSTEM):
        return str(given)
    return NAMED_ROLES.get(system, SYSTEM)


def family_of(run: Run, system: str) -> str:
    """The codec family of ``system`` (one rate-quality curve, one colour): run.json's ``family``, else the name
    without an ``@value`` part (``opus@6k`` and ``opus@24k`` are ``opus``; ``opus@12k+spf`` is ``opus+spf``)."""
    given = run.system_info(system).get("family")
    if given:
        return str(given)
    return re.sub(r"@[^+\[]*", "", system)


def not_candidates(run: Run) -> tuple[str, ...]:
    """Systems never marked best: the reference and the anchors of ``run``."""
    return tuple(s for s in run.systems if role(run, s) != SYSTEM)


__all__ = ["ANCHOR", "NAMED_ROLES", "REFERENCE", "SYSTEM", "family_of", "not_candidates", "role"]
