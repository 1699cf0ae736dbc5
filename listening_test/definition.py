"""The test definition ``test.json`` (versioned): what a participant hears, in which trials.

A test folder holds ``test.json``, ``audio/<item>/<stimulus>.wav`` (48 kHz, 16-bit PCM, loudness
matched) and, once served, ``results.sqlite``. Stimulus file names are opaque so the audio URL never
reveals the system.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "codec-bench-listening-test"
VERSION = 1
#: condition names shared with webMUSHRA's CSV
HIDDEN_REFERENCE = "reference"
LOW_ANCHOR = "anchor35"
MID_ANCHOR = "anchor70"


class DefinitionError(ValueError):
    """A test.json that is missing, of another format, or inconsistent; the message names the file."""


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float (an unmeasured loudness) as ``None``: test.json is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _nan_if_none(value: float | None) -> float:
    return float("nan") if value is None else float(value)


@dataclass
class Stimulus:
    """One rated signal of a trial. ``file`` is relative to the test folder."""

    id: str
    system: str
    file: str
    loudness_lufs: float = float("nan")
    gain_db: float = 0.0


@dataclass
class Item:
    """One excerpt of one utterance with all its conditions (time-aligned, same length)."""

    id: str
    utterance: str
    speaker: str
    start_s: float
    duration_s: float
    reference: str
    stimuli: list[Stimulus] = field(default_factory=list)

    def stimulus(self, stimulus_id: str) -> Stimulus | None:
        return next((s for s in self.stimuli if s.id == stimulus_id), None)


@dataclass
class Trial:
    """What one page asks: MUSHRA rates all stimuli of an item, MOS rates one stimulus."""

    id: str
    item: str
    stimuli: list[str]


@dataclass
class TestDefinition:
    """The whole test. ``training`` is an item id heard (not scored) before the trials."""

    __test__ = False  # not a pytest class despite the name

    type: str
    title: str
    systems: list[str]
    items: list[Item]
    trials: list[Trial]
    training: str
    sample_rate: int = 48000
    target_lufs: float = -26.0
    source_run: str = ""
    created: str = ""
    questionnaire: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: language of the shipped translation texts.yaml was copied from
    lang: str = "en"
    #: crowd-worker entry and exit: ``id_param`` (URL query parameter holding the worker id),
    #: ``completion_code`` and/or ``completion_url`` shown at the end
    crowd: dict[str, str] = field(default_factory=dict)
    #: an antiphase headphone check (Woods et al. 2017) on the level-check page
    headphone_check: bool = False
    #: qualification questions answered before the level check (P.808 crowdsourcing); same format as
    #: ``questionnaire``
    qualification: list[dict[str, Any]] = field(default_factory=list)
    #: options of the test type (A/B: ``{"no_preference": true}``)
    options: dict[str, Any] = field(default_factory=dict)

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)

    def trial(self, trial_id: str) -> Trial | None:
        return next((t for t in self.trials if t.id == trial_id), None)

    def audio_files(self) -> set[str]:
        """Every relative audio path the server may hand out."""
        files = set()
        for it in self.items:
            files.add(it.reference)
            files.update(s.file for s in it.stimuli)
        return files

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, **asdict(self)}

    def save(self, folder: Path) -> Path:
        path = Path(folder) / "test.json"
        path.write_text(json.dumps(_finite(self.to_json()), indent=2, allow_nan=False) + "\n")
        return path

    @classmethod
    def load(cls, folder: str | Path) -> TestDefinition:
        path = Path(folder) / "test.json"
        if not path.is_file():
            raise DefinitionError(f"{path}: no test definition (build one with `bench listen build`)")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise DefinitionError(f"{path}: not valid JSON ({exc})") from exc
        if data.get("format") != FORMAT:
            raise DefinitionError(f"{path}: format is {data.get('format')!r}, expected {FORMAT!r}")
        if data.get("version") != VERSION:
            raise DefinitionError(f"{path}: version {data.get('version')!r} is not supported (this is {VERSION})")
        try:
            items = [Item(**{**it, "stimuli": [Stimulus(**{**s, "loudness_lufs": _nan_if_none(s.get("loudness_lufs"))})
                                                  for s in it["stimuli"]]}) for it in data["items"]]
            trials = [Trial(**t) for t in data["trials"]]
            rest = {k: v for k, v in data.items() if k not in ("format", "version", "items", "trials")}
            definition = cls(items=items, trials=trials, **rest)
        except (KeyError, TypeError) as exc:
            raise DefinitionError(f"{path}: malformed test definition ({exc})") from exc
        return definition
