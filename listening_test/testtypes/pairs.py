"""Paired comparisons (ITU-T P.800): CCR, the comparison category rating of the second sample against the
first (-3..+3, order randomised per participant and undone when stored, so every stored score reads
"second system of the pair compared with the first"), and DCR, the degradation category rating of a
system against the reference, which is always played first (5 inaudible .. 1 very annoying).

A pair condition is named ``"B vs A"``; its CCR mean is the CMOS of B relative to A.
"""

from __future__ import annotations

from typing import Any

from scipy import stats

from listening_test.definition import HIDDEN_REFERENCE, Item, Trial
from listening_test.ratings import Rating
from listening_test.storage import TrialRating
from listening_test.testtypes.base import RatingError, Scale, TestType

CCR_LABELS = ("Much worse", "Worse", "Slightly worse", "About the same", "Slightly better", "Better", "Much better")
AB_LABELS = ("First is better", "No preference", "Second is better")
DCR_LABELS = ("Very annoying", "Annoying", "Slightly annoying", "Audible but not annoying", "Inaudible")


def pair_condition(first: str, second: str) -> str:
    """The condition name of a pair: how ``second`` compares with ``first``."""
    return f"{second} vs {first}"


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """``"a:b,c:d"`` -> ``[("a", "b"), ("c", "d")]`` (b is compared with a); raises ``ValueError``."""
    pairs = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        a, sep, b = part.partition(":")
        if not sep or not a.strip() or not b.strip() or a.strip() == b.strip():
            raise ValueError(f"{part!r} is not a pair FIRST:SECOND of two different systems")
        pairs.append((a.strip(), b.strip()))
    if not pairs:
        raise ValueError("no pair given")
    return pairs


class _PairType(TestType):
    page = "pair"

    def pair_trials(self, items: list[Item], pairs: list[tuple[str, str]]) -> list[Trial]:
        trials = []
        for it in items:
            by_system = {s.system: s.id for s in it.stimuli}
            for a, b in pairs:
                trials.append(Trial(id=f"{it.id}-{by_system[a]}-{by_system[b]}", item=it.id,
                                    stimuli=[by_system[a], by_system[b]]))
        return trials


class Ccr(_PairType):
    """Comparison category rating: the second sample against the first, -3 (much worse) .. +3 (much better)."""

    name = "ccr"
    title = "CCR (ITU-T P.800 comparison category rating)"
    scale = Scale("CMOS", -3.0, 3.0, integer=True, labels=CCR_LABELS)
    compare = "zero"
    needs_pairs = True

    def trials(self, items: list[Item]) -> list[Trial]:
        raise RatingError("CCR trials need the pairs: use pair_trials(items, pairs)")

    def stored_ratings(self, trial: Trial, item: Item, ratings: dict[str, float], order: list[str],
                       options: dict[str, Any] | None = None) -> list[TrialRating]:
        """One row per trial: the score of the canonical second system relative to the first."""
        second = order[1]
        if set(ratings) != {second}:
            raise RatingError(f"rate the second sample of the pair: send {{{second!r}: score}}")
        problem = self.scale.problem(ratings[second])
        if problem:
            raise RatingError(f"score for {second} {problem}")
        a, b = trial.stimuli
        canonical = float(ratings[second]) if order == [a, b] else -float(ratings[second])
        system_a, system_b = item.stimulus(a).system, item.stimulus(b).system  # type: ignore[union-attr]
        return [TrialRating(stimulus=b, system=pair_condition(system_a, system_b), score=canonical + 0.0)]


class Dcr(_PairType):
    """Degradation category rating: the reference first, then the system; 5 (inaudible) .. 1 (very annoying)."""

    name = "dcr"
    title = "DCR (ITU-T P.800 degradation category rating)"
    scale = Scale("DMOS", 1.0, 5.0, integer=True, labels=DCR_LABELS)
    shuffle_stimuli = False

    def trials(self, items: list[Item]) -> list[Trial]:
        return self.pair_trials(items, [(HIDDEN_REFERENCE, s.system) for s in items[0].stimuli
                                        if s.system != HIDDEN_REFERENCE])

    def stored_ratings(self, trial: Trial, item: Item, ratings: dict[str, float], order: list[str],
                       options: dict[str, Any] | None = None) -> list[TrialRating]:
        """One row per trial: the degradation score of the system (the pair's second sample)."""
        return super().stored_ratings(Trial(trial.id, trial.item, trial.stimuli[1:]), item, ratings, order)


class Ab(Ccr):
    """A/B preference: which of the two samples is better (-1 the first, +1 the second; 0 "no preference"
    only when the test offers it). Stored like CCR, so +1 always means the pair's second system."""

    name = "ab"
    title = "A/B preference"
    scale = Scale("preference", -1.0, 1.0, integer=True, labels=AB_LABELS)

    def stored_ratings(self, trial: Trial, item: Item, ratings: dict[str, float], order: list[str],
                       options: dict[str, Any] | None = None) -> list[TrialRating]:
        if not (options or {}).get("no_preference") and 0 in ratings.values():
            raise RatingError("this test has no 'no preference' answer: choose the first or the second sample")
        return super().stored_ratings(trial, item, ratings, order, options)

    def extra_tables(self, used: list[Rating], conditions: list[str]) -> list[tuple[list[dict], list[str], str, str]]:
        """Preference shares with exact (Clopper-Pearson) 95% CIs and a two-sided binomial test against 50%."""
        rows = []
        for c in conditions:
            votes = [r.score for r in used if r.system == c]
            second, first = sum(v > 0 for v in votes), sum(v < 0 for v in votes)
            decided = first + second
            row: dict[str, Any] = {"condition": c, "n": len(votes), "prefer_second": second, "prefer_first": first,
                                   "no_preference": len(votes) - decided}
            if decided:
                test = stats.binomtest(second, decided, 0.5)
                ci = test.proportion_ci(confidence_level=0.95, method="exact")
                row.update(share_second=second / decided, ci95_low=ci.low, ci95_high=ci.high, p=test.pvalue)
            else:
                row.update(share_second=float("nan"), ci95_low=float("nan"), ci95_high=float("nan"), p=float("nan"))
            rows.append(row)
        columns = ["condition", "n", "prefer_second", "prefer_first", "no_preference", "share_second", "ci95_low",
                   "ci95_high", "p"]
        caption = ("Preference for the second system of each pair (share of decided votes, exact 95% CI, "
                   "two-sided binomial test against 50%)")
        return [(rows, columns, "preference", caption)]


class Abx(_PairType):
    """ABX: A and B (in random order), then X, which is one of them (chosen per participant and trial); the
    listener says which. Stored: 1 when right, 0 when wrong, for the pair's condition."""

    name = "abx"
    title = "ABX"
    page = "abx"
    scale = Scale("proportion correct", 0.0, 1.0, integer=True, labels=("wrong", "right"))
    compare = "none"
    needs_pairs = True

    def trials(self, items: list[Item]) -> list[Trial]:
        raise RatingError("ABX trials need the pairs: use pair_trials(items, pairs)")

    def stored_ratings(self, trial: Trial, item: Item, ratings: dict[str, float], order: list[str],
                       options: dict[str, Any] | None = None) -> list[TrialRating]:
        """``ratings`` is ``{id of the sample X matches: 1}``; ``order`` is [A, B, X] as presented."""
        if len(ratings) != 1 or next(iter(ratings)) not in trial.stimuli or next(iter(ratings.values())) != 1:
            raise RatingError("answer with {id of A or B: 1}: the sample X matches")
        x = order[2]
        a, b = trial.stimuli
        condition = pair_condition(item.stimulus(a).system, item.stimulus(b).system)  # type: ignore[union-attr]
        return [TrialRating(stimulus=x, system=condition, score=1.0 if next(iter(ratings)) == x else 0.0)]

    def extra_tables(self, used: list[Rating], conditions: list[str]) -> list[tuple[list[dict], list[str], str, str]]:
        """Proportion correct with an exact 95% CI and a one-sided binomial test against guessing (50%)."""
        rows = []
        for c in conditions:
            answers = [r.score for r in used if r.system == c]
            right = int(sum(answers))
            row: dict[str, Any] = {"condition": c, "n": len(answers), "correct": right}
            if answers:
                test = stats.binomtest(right, len(answers), 0.5, alternative="greater")
                ci = stats.binomtest(right, len(answers), 0.5).proportion_ci(confidence_level=0.95, method="exact")
                row.update(share_correct=right / len(answers), ci95_low=ci.low, ci95_high=ci.high, p=test.pvalue,
                           audible="yes" if test.pvalue < 0.05 else "no")
            rows.append(row)
        columns = ["condition", "n", "correct", "share_correct", "ci95_low", "ci95_high", "p", "audible"]
        return [(rows, columns, "abx", ("ABX: proportion correct, exact 95% CI, one-sided binomial test against "
                                       "guessing (audible: p < 0.05)"))]


CCR = Ccr()
ABX = Abx()
DCR = Dcr()
AB = Ab()
