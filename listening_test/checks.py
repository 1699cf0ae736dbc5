"""Checks before the test, as ITU-T P.808 asks of crowdsourced tests: a qualification questionnaire
(hearing, environment, listening device) and an antiphase headphone check (Woods et al., 2017: three
200 Hz tones, one 6 dB quieter, one with the right channel inverted, which cancels over loudspeakers
and so sounds quietest there; the participant picks the quietest, six times).

The page runs them; the server stores their outcome with the session; post-screening reads it.
"""

from __future__ import annotations

from typing import Any

HEADPHONE_TRIALS = 6
#: Woods et al. pass a listener with at least 5 of 6 correct
HEADPHONE_PASS = 5

QUALIFICATION = [
    {"name": "hearing", "label": "Do you have normal hearing (no known hearing loss)?", "type": "choice",
     "options": ["yes", "no"]},
    {"name": "environment", "label": "How quiet is the place where you are now?", "type": "choice",
     "options": ["quiet", "some noise", "noisy"]},
    {"name": "device", "label": "What will you listen with?", "type": "choice",
     "options": ["headphones", "earbuds", "loudspeakers"]},
]
#: answers that disqualify, with the reason post-screening gives
DISQUALIFYING = {("hearing", "no"): "reported a hearing impairment",
                 ("environment", "noisy"): "listening in a noisy place",
                 ("device", "loudspeakers"): "listening over loudspeakers"}


def headphone_outcome(correct: int, total: int) -> dict[str, Any]:
    """The stored outcome of a headphone check."""
    return {"correct": correct, "total": total, "passed": correct >= HEADPHONE_PASS}


def check_problems(checks: dict[str, dict]) -> list[str]:
    """Why a participant's checks disqualify them (empty when they do not)."""
    reasons = []
    hp = checks.get("headphone")
    if hp is not None and hp.get("correct", 0) < HEADPHONE_PASS:
        reasons.append(f"failed the headphone check ({hp.get('correct')} of {hp.get('total')} correct, "
                       f"{HEADPHONE_PASS} needed)")
    answers = checks.get("qualification", {})
    reasons += [why for (name, value), why in DISQUALIFYING.items() if answers.get(name) == value]
    return reasons
