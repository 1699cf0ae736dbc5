"""Post-screening of MUSHRA assessors exactly as ITU-R BS.1534-3 (section 4.1.2).

An assessor is excluded when they rate
  * the hidden reference below 90 on more than 15% of the test items they rated, or
  * the mid anchor (7 kHz) above 90 on more than 15% of those items, where items on which more than
    25% of all assessors rate the mid anchor above 90 are skipped for this rule (they count as items,
    never as violations).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from listening_test.definition import HIDDEN_REFERENCE, MID_ANCHOR
from listening_test.ratings import Rating

REFERENCE_MIN = 90.0
ANCHOR_MAX = 90.0
MAX_FRACTION = 0.15
ITEM_SKIP_FRACTION = 0.25


@dataclass
class Screening:
    """Outcome of post-screening.

    Attributes:
        kept: assessors whose ratings enter the analysis.
        excluded: assessor -> reason.
        skipped_items: items where the mid-anchor rule was not applied (> 25% rated it above 90).
        counts: assessor -> {"items", "reference_below_90", "anchor_above_90"}.
    """

    kept: list[str]
    excluded: dict[str, str]
    skipped_items: list[str]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


def screen_mushra(ratings: list[Rating]) -> Screening:
    """Apply both BS.1534-3 rules to all MUSHRA ratings (items are trials)."""
    assessors = sorted({r.assessor for r in ratings})
    items_of: dict[str, set[str]] = defaultdict(set)
    ref: dict[tuple[str, str], float] = {}
    anchor: dict[tuple[str, str], float] = {}
    for r in ratings:
        items_of[r.assessor].add(r.trial)
        if r.system == HIDDEN_REFERENCE:
            ref[(r.assessor, r.trial)] = r.score
        elif r.system == MID_ANCHOR:
            anchor[(r.assessor, r.trial)] = r.score
    # mid-anchor rule exception: items where > 25% of assessors rate the anchor above 90
    per_item: dict[str, list[float]] = defaultdict(list)
    for (_, item), score in anchor.items():
        per_item[item].append(score)
    skipped = sorted(item for item, scores in per_item.items()
                     if sum(s > ANCHOR_MAX for s in scores) > ITEM_SKIP_FRACTION * len(scores))
    kept, excluded, counts = [], {}, {}
    for a in assessors:
        items = items_of[a]
        low_ref = sum(1 for i in items if (a, i) in ref and ref[(a, i)] < REFERENCE_MIN)
        high_anchor = sum(1 for i in items if i not in skipped and (a, i) in anchor and anchor[(a, i)] > ANCHOR_MAX)
        counts[a] = {"items": len(items), "reference_below_90": low_ref, "anchor_above_90": high_anchor}
        reasons = []
        if low_ref > MAX_FRACTION * len(items):
            reasons.append(f"rated the hidden reference below 90 on {low_ref} of {len(items)} items "
                           f"({100 * low_ref / len(items):.0f}% > 15%)")
        if high_anchor > MAX_FRACTION * len(items):
            reasons.append(f"rated the mid anchor ({MID_ANCHOR}) above 90 on {high_anchor} of {len(items)} items "
                           f"({100 * high_anchor / len(items):.0f}% > 15%)")
        if reasons:
            excluded[a] = "; ".join(reasons)
        else:
            kept.append(a)
    return Screening(kept=kept, excluded=excluded, skipped_items=skipped, counts=counts)


def fast_trial_problems(ratings: list[Rating], min_ms: dict[str, float]) -> dict[str, str]:
    """Assessor -> reason, for those who answered more than 15% of their trials faster than the trial's audio
    allows (P.808 screening on trial durations; a time of 0 means unknown and never counts)."""
    times: dict[str, dict[str, int]] = defaultdict(dict)
    for r in ratings:
        times[r.assessor][r.trial] = r.time_ms
    reasons = {}
    for a, trials in times.items():
        fast = sum(1 for t, ms in trials.items() if 0 < ms < min_ms.get(t, 0))
        if fast > MAX_FRACTION * len(trials):
            reasons[a] = (f"answered {fast} of {len(trials)} trials faster than their audio can be heard "
                          f"({100 * fast / len(trials):.0f}% > 15%)")
    return reasons
