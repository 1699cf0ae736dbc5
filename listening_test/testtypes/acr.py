"""ACR (absolute category rating, ITU-T P.800/P.808): one stimulus per trial on the five-point scale, the
mean opinion score (MOS) with its 95% confidence interval, and P.808 rater screening on the gold and
trapping questions (see :mod:`listening_test.p808`)."""

from __future__ import annotations

from collections import defaultdict

from listening_test.definition import Item, Trial
from listening_test.p808 import GOLD_EXPECTED, GOLD_REFERENCE, trap_answer
from listening_test.ratings import Rating
from listening_test.screening import Screening
from listening_test.testtypes.base import Scale, TestType

#: P.808 screening: a rater who fails more than this many gold questions, or any trap, is excluded
MAX_GOLD_FAILURES = 0
MAX_TRAP_FAILURES = 0


def screen_p808(ratings: list[Rating]) -> Screening:
    """Exclude raters who answer a trapping question wrongly or a gold question outside its expected range."""
    failures: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"gold": [], "trap": []})
    assessors = sorted({r.assessor for r in ratings})
    for r in ratings:
        answer = trap_answer(r.system)
        if answer is not None and r.score != answer:
            failures[r.assessor]["trap"].append(f"answered {r.score:g} where a trap question asked for {answer}")
        elif r.system in GOLD_EXPECTED:
            lo, hi = GOLD_EXPECTED[r.system]
            if not lo <= r.score <= hi:
                what = "the clean reference" if r.system == GOLD_REFERENCE else "the strongly degraded sample"
                failures[r.assessor]["gold"].append(f"rated {what} (gold question) {r.score:g}, expected {lo}-{hi}")
    excluded, counts = {}, {}
    for a in assessors:
        f = failures[a]
        counts[a] = {"gold_failed": len(f["gold"]), "traps_failed": len(f["trap"])}
        if len(f["gold"]) > MAX_GOLD_FAILURES or len(f["trap"]) > MAX_TRAP_FAILURES:
            excluded[a] = "; ".join(f["trap"] + f["gold"])
    return Screening(kept=[a for a in assessors if a not in excluded], excluded=excluded, skipped_items=[],
                     counts=counts)


class Acr(TestType):
    """Every condition of every item is its own trial; integer ratings 1 (bad) to 5 (excellent)."""

    name = "mos"
    title = "MOS (ACR, ITU-T P.800/P.808)"
    scale = Scale("MOS", 1.0, 5.0, integer=True, labels=("Bad", "Poor", "Fair", "Good", "Excellent"))

    def trials(self, items: list[Item]) -> list[Trial]:
        return [Trial(id=f"{it.id}-{s.id}", item=it.id, stimuli=[s.id]) for it in items for s in it.stimuli]

    def screen(self, ratings: list[Rating]) -> Screening:
        return screen_p808(ratings)

    def screening_report(self, s: Screening) -> list[str]:
        lines = [("Rules (ITU-T P.808): a rater is excluded for any wrong answer to a trapping question, any gold "
                  "question rated outside its expected range (clean reference 4-5, strongly degraded sample 1-2), "
                  "a failed headphone check or a disqualifying qualification answer."), "",
                 "| assessor | gold failed | traps failed | decision |", "|---|---|---|---|"]
        for a, c in sorted(s.counts.items()):
            decision = "excluded: " + s.excluded[a] if a in s.excluded else "kept"
            lines.append(f"| {a} | {c['gold_failed']} | {c['traps_failed']} | {decision} |")
        return lines


ACR = Acr()
