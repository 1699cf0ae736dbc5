"""What one participant sees: trial order and stimulus order, seeded by the participant id."""

from __future__ import annotations

import hashlib
import random
from typing import Any

from listening_test.definition import TestDefinition
from listening_test.storage import Participant


def participant_seed(participant_id: str) -> int:
    """A stable 64-bit seed from the participant id (the same on every server start)."""
    return int(hashlib.sha256(participant_id.encode()).hexdigest()[:16], 16)


def _item_view(definition: TestDefinition, item_id: str, stimuli: list[str], rng: random.Random,
               shuffle: bool = True) -> dict[str, Any]:
    item = definition.item(item_id)
    order = list(stimuli)
    if shuffle:
        rng.shuffle(order)
    return {"item": item_id, "reference": "/" + item.reference, "duration": item.duration_s,
            "stimuli": [{"id": sid, "url": "/" + item.stimulus(sid).file} for sid in order]}  # type: ignore[union-attr]


def participant_plan(definition: TestDefinition, participant_id: str) -> dict[str, Any]:
    """Training and trials in this participant's randomised order (stimuli shuffled within each trial)."""
    from listening_test.testtypes import get_test_type

    kind = get_test_type(definition.type)
    rng = random.Random(participant_seed(participant_id))
    trials = list(definition.trials)
    rng.shuffle(trials)
    training_item = definition.item(definition.training)
    training = _item_view(definition, training_item.id, [s.id for s in training_item.stimuli], rng)
    training["id"] = "training"
    views = [{"id": t.id, **_item_view(definition, t.item, t.stimuli, rng, kind.shuffle_stimuli)} for t in trials]
    if kind.page == "abx":  # X is served under its own URL, which does not say whether it is A or B
        for v in views:
            v["x"] = f"/api/sessions/{participant_id}/x/{v['id']}"
    return {"training": training, "trials": views}


def abx_x(definition: TestDefinition, participant_id: str, trial_id: str) -> str:
    """The stimulus X is for this participant on this ABX trial (seeded by both)."""
    trial = definition.trial(trial_id)
    assert trial is not None
    return random.Random(f"{participant_seed(participant_id)}:{trial_id}").choice(trial.stimuli)


def presented_order(definition: TestDefinition, participant_id: str, trial_id: str) -> list[str]:
    """The stimuli of ``trial_id`` in the order ``participant_id`` was given them (ABX: then X)."""
    trial = next(t for t in participant_plan(definition, participant_id)["trials"] if t["id"] == trial_id)
    order = [s["id"] for s in trial["stimuli"]]
    return [*order, abx_x(definition, participant_id, trial_id)] if "x" in trial else order


def phase(definition: TestDefinition, participant: Participant, completed: list[str]) -> str:
    """Where the participant is: [qualification] -> level -> training -> trials -> questionnaire -> done;
    ``screened_out`` after a failed headphone check (P.808: the session ends there)."""
    if participant.finished_at:
        return "done"
    if participant.checks.get("headphone", {}).get("passed") is False:
        return "screened_out"
    if definition.qualification and "qualification" not in participant.checks:
        return "qualification"
    if not participant.level_at:
        return "level"
    if not participant.training_at:
        return "training"
    if len(set(completed)) < len(definition.trials):
        return "trials"
    return "questionnaire"
