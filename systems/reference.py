"""The natural reference: the input itself (the hidden reference of listening tests)."""

from __future__ import annotations

import numpy as np

from systems.base import System, SystemOutput


class Natural(System):
    """Returns the reference unchanged, at the evaluation rate (nothing is resampled). It codes nothing, so
    it spends no bits."""

    kind = "natural"
    description = "Natural speech (the reference itself)"
    any_rate = True

    def process(self, audio: np.ndarray, *, utterance_id: str) -> SystemOutput:
        return SystemOutput(audio=audio.astype(np.float32, copy=True), bits=None, info={})
