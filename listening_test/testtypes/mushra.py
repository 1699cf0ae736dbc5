"""MUSHRA (ITU-R BS.1534-3): all conditions of an item on one page, 0-100, against the open reference."""

from __future__ import annotations

import numpy as np

from listening_test.definition import HIDDEN_REFERENCE, LOW_ANCHOR, MID_ANCHOR, Item, Trial
from listening_test.ratings import Rating
from listening_test.screening import Screening, screen_mushra
from listening_test.testtypes.base import Scale, TestType

#: warn when more than this share of the non-reference scores lies in 80-100
HIGH_SCORE_WARNING = 0.5


class Mushra(TestType):
    """Hidden reference, systems and the 3.5/7 kHz anchors rated together; BS.1534-3 post-screening."""

    name = "mushra"
    title = "MUSHRA (ITU-R BS.1534-3)"
    scale = Scale("MUSHRA score", 0.0, 100.0, integer=False, labels=("Bad", "Poor", "Fair", "Good", "Excellent"))
    anchors = (LOW_ANCHOR, MID_ANCHOR)
    max_signals = 12
    shows_reference = True
    page = "mushra"
    break_every = 10
    # ITU-R BS.1534-3 §4 (selection of assessors): data from 20 assessors are often sufficient to draw
    # conclusions; MPEG's USAC verification test report (ISO/IEC JTC1/SC29/WG11) reads BS.1116-3 and
    # BS.1534-3 as recommending at least 20 listeners per test, after post-screening.
    recommended_panel = 20
    panel_source = "ITU-R BS.1534-3 (§4)"

    def min_trial_s(self, n_stimuli: int, duration_s: float) -> float:
        """At least 2 s (or the whole item, when shorter) of each condition and of the reference."""
        return (n_stimuli + 1) * min(duration_s, 2.0)

    def trials(self, items: list[Item]) -> list[Trial]:
        return [Trial(id=it.id, item=it.id, stimuli=[s.id for s in it.stimuli]) for it in items]

    def screen(self, ratings: list[Rating]) -> Screening:
        return screen_mushra(ratings)

    def screening_report(self, s: Screening) -> list[str]:
        lines = [(f"Rules (ITU-R BS.1534-3): hidden reference < 90 on > 15% of items, or {MID_ANCHOR} > 90 on > 15% "
                  "of items (items where > 25% of assessors rate it > 90 are skipped for this rule)."), "",
                 f"Items skipped for the mid-anchor rule: {', '.join(s.skipped_items) or 'none'}", "",
                 "| assessor | items | reference < 90 | anchor > 90 | decision |", "|---|---|---|---|---|"]
        for a, c in sorted(s.counts.items()):
            decision = "excluded: " + s.excluded[a] if a in s.excluded else "kept"
            lines.append(f"| {a} | {c['items']} | {c['reference_below_90']} | {c['anchor_above_90']} | {decision} |")
        return lines

    def warnings(self, used: list[Rating]) -> list[str]:
        rated = [r.score for r in used if r.system != HIDDEN_REFERENCE]
        share = float(np.mean([80 <= s <= 100 for s in rated])) if rated else 0.0
        if share > HIGH_SCORE_WARNING:
            return [(f"{100 * share:.0f}% of the scores (hidden reference excluded) lie between 80 and 100: "
                     "the test probably does not discriminate between the conditions")]
        return []


MUSHRA = Mushra()
