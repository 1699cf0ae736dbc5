"""One rating as every part of the suite sees it (storage, CSV import/export, analysis)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rating:
    """A score one assessor gave one condition on one trial.

    Attributes:
        assessor: participant id (webMUSHRA ``session_uuid``).
        trial: trial id (webMUSHRA ``trial_id``); for MUSHRA the item.
        item: item id (MUSHRA: same as trial; MOS: the excerpt heard).
        system: condition name (``reference``, ``anchor35``, ``anchor70`` or a system).
        score: 0-100 (MUSHRA) or 1-5 (MOS).
        time_ms: time spent on the trial in milliseconds (0 when unknown).
        comment: free text from the participant.
    """

    assessor: str
    trial: str
    item: str
    system: str
    score: float
    time_ms: int = 0
    comment: str = ""
