"""ACR (absolute category rating, ITU-T P.800/P.808): one stimulus per trial on the five-point scale, the
mean opinion score (MOS) with its 95% confidence interval."""

from __future__ import annotations

from listening_test.definition import Item, Trial
from listening_test.testtypes.base import Scale, TestType


class Acr(TestType):
    """Every condition of every item is its own trial; integer ratings 1 (bad) to 5 (excellent)."""

    name = "mos"
    title = "MOS (ACR, ITU-T P.800/P.808)"
    scale = Scale("MOS", 1.0, 5.0, integer=True, labels=("Bad", "Poor", "Fair", "Good", "Excellent"))

    def trials(self, items: list[Item]) -> list[Trial]:
        return [Trial(id=f"{it.id}-{s.id}", item=it.id, stimuli=[s.id]) for it in items for s in it.stimuli]


ACR = Acr()
