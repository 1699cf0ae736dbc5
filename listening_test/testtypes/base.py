"""What a kind of listening test is: its rating scale, its conditions and trials, its screening and the
statistics of its results. One object per kind, kept in :data:`TEST_TYPES`; ``bench listen build --type``,
the server, the page and ``bench listen analyze`` ask it instead of branching on the type's name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from bench.registry import Registry
from listening_test.definition import Item, Trial
from listening_test.ratings import Rating
from listening_test.screening import Screening
from listening_test.storage import TrialRating


class RatingError(ValueError):
    """A submission that does not answer its trial completely and on the scale; the message says why."""


@dataclass(frozen=True)
class Scale:
    """A rating scale: ``low``..``high``, integers only or continuous, with labels for its points/intervals.

    Attributes:
        name: the quantity, as shown on plots and tables ("MUSHRA score", "MOS").
        labels: labels from the low to the high end (the five BS.1534 intervals, the five ACR categories).
    """

    name: str
    low: float
    high: float
    integer: bool
    labels: tuple[str, ...]

    def problem(self, score: object) -> str | None:
        """Why ``score`` is not a valid rating on this scale, or ``None`` when it is."""
        kind = "an integer" if self.integer else "a number"
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
            return f"must be {kind} in {self.low:g}-{self.high:g}"
        if not self.low <= score <= self.high or (self.integer and score != int(score)):
            return f"must be {kind} in {self.low:g}-{self.high:g}"
        return None

    def plot_limits(self, margin: float = 0.05) -> tuple[float, float]:
        span = self.high - self.low
        return self.low - margin * span, self.high + margin * span

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "low": self.low, "high": self.high, "integer": self.integer,
                "labels": list(self.labels)}


class TestType:
    """One kind of test. Subclasses set the class attributes and override the hooks they need."""

    __test__ = False  # not a pytest class

    name: ClassVar[str]
    #: shown to the author: "MUSHRA (ITU-R BS.1534-3)"
    title: ClassVar[str]
    scale: ClassVar[Scale]
    #: extra conditions every item carries besides the hidden reference and the systems
    anchors: ClassVar[tuple[str, ...]] = ()
    #: most signals one trial may hold (``None``: no limit)
    max_signals: ClassVar[int | None] = None
    #: the participant hears the open reference next to the rated stimuli
    shows_reference: ClassVar[bool] = False
    #: the page that presents a trial ("mushra", "acr" or "pair")
    page: ClassVar[str] = "acr"
    #: shuffle the stimuli of each trial per participant (DCR keeps the reference first)
    shuffle_stimuli: ClassVar[bool] = True
    #: how conditions are tested: "pairwise" (against each other), "zero" (difference scores, against no
    #: difference) or "none" (the type's own tables only)
    compare: ClassVar[str] = "pairwise"
    #: trials are built from ``--pairs`` (CCR, A/B, ABX)
    needs_pairs: ClassVar[bool] = False
    #: a break page after every this many trials (``--break-every`` overrides; 0: none)
    break_every: ClassVar[int] = 30
    #: assessors (after post-screening) the type's recommendation expects, and where it says so; ``None``
    #: where no number is sourced (ITU-T P.808 for ACR/DCR/CCR: its number of votes per condition could not
    #: be checked against the text), so only the check that every 95% CI stays on the scale applies
    #: (:mod:`listening_test.panel`)
    recommended_panel: ClassVar[int | None] = None
    panel_source: ClassVar[str] = ""

    def min_trial_s(self, n_stimuli: int, duration_s: float) -> float:
        """Seconds below which a trial with ``n_stimuli`` samples of ``duration_s`` cannot have been heard."""
        return n_stimuli * duration_s

    def stored_ratings(self, trial: Trial, item: Item, ratings: dict[str, float], order: list[str],
                       options: dict[str, Any] | None = None) -> list[TrialRating]:
        """The rows one submission stores (default: every stimulus of the trial rated on the scale).

        Args:
            ratings: stimulus id -> score, as sent by the page.
            order: the trial's stimuli in the order this participant was given them.
            options: the test definition's type options.
        """
        if set(ratings) != set(trial.stimuli):
            unknown = sorted(set(ratings) - set(trial.stimuli))
            raise RatingError(f"unknown stimuli {unknown}" if unknown else "every stimulus must be rated")
        rows = []
        for sid, score in ratings.items():
            problem = self.scale.problem(score)
            if problem:
                raise RatingError(f"score for {sid} {problem}")
            rows.append(TrialRating(stimulus=sid, system=item.stimulus(sid).system, score=float(score)))  # type: ignore[union-attr]
        return rows

    def trials(self, items: list[Item]) -> list[Trial]:
        """The trials of a test made of ``items`` (training item excluded)."""
        raise NotImplementedError

    def screen(self, ratings: list[Rating]) -> Screening:
        """Which assessors enter the statistics, with the reasons for those who do not (default: all)."""
        assessors = sorted({r.assessor for r in ratings})
        return Screening(kept=assessors, excluded={}, skipped_items=[])

    def screening_report(self, screening: Screening) -> list[str]:
        """Markdown lines for ``screening.md`` describing the rules and each assessor's outcome."""
        return [f"{self.title}: no post-screening rules apply to this test type."]

    def warnings(self, used: list[Rating]) -> list[str]:
        """Warnings about the kept ratings as a whole (e.g. a test that does not discriminate)."""
        return []

    def extra_tables(self, used: list[Rating], conditions: list[str]) -> list[tuple[list[dict], list[str], str, str]]:
        """Tables of this type's own statistics: (rows, columns, file stem, caption) each."""
        return []


TEST_TYPES: Registry[TestType] = Registry("listening test type", entry_point_group="codec_bench.listening_tests")


def get_test_type(name: str) -> TestType:
    """The registered test type ``name`` (or alias); an unknown name raises with suggestions."""
    return TEST_TYPES.get(name)
