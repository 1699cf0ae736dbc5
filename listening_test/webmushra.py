"""webMUSHRA interoperability: a YAML config for the same audio files, and its MUSHRA CSV columns
(``session_test_id, <questionnaire fields>, session_uuid, trial_id, rating_stimulus, rating_score,
rating_time, rating_comment``) for export and import.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from pathlib import Path

import yaml

from bench.errors import InputError
from listening_test.definition import HIDDEN_REFERENCE, LOW_ANCHOR, MID_ANCHOR, TestDefinition
from listening_test.ratings import Rating

FIXED_COLUMNS = ("session_test_id", "session_uuid", "trial_id", "rating_stimulus", "rating_score", "rating_time",
                 "rating_comment")


def webmushra_config(definition: TestDefinition, test_id: str) -> dict:
    """The webMUSHRA config dict: welcome, volume, training, randomised trials, finish with questionnaire.

    Our anchors are passed as ordinary stimuli (``anchor35``/``anchor70``) because webMUSHRA's built-in
    anchors do not meet the BS.1534-3 filter mask; its own anchor creation is switched off.
    """
    training = definition.item(definition.training)

    def mushra_page(item_id: str, name: str) -> dict:
        item = definition.item(item_id)
        return {
            "type": "mushra", "id": item_id, "name": name, "content": "Rate each condition against the reference.",
            "showWaveform": True, "enableLooping": True, "reference": item.reference,
            "createAnchor35": False, "createAnchor70": False,
            "stimuli": {s.system: s.file for s in item.stimuli if s.system != HIDDEN_REFERENCE},
        }

    trials = [mushra_page(t.item, f"Trial {i + 1}") for i, t in enumerate(definition.trials)]
    training_page = mushra_page(training.id, "Training")
    training_page["id"] = "training"
    return {
        "testname": definition.title,
        "testId": test_id,
        "bufferSize": 2048,
        "stopOnErrors": True,
        "showButtonPreviousPage": False,
        "remoteService": "service/write.php",
        "pages": [
            {"type": "generic", "id": "welcome", "name": "Welcome", "content": "Welcome to this listening test."},
            {"type": "volume", "id": "volume", "name": "Volume", "content": "Set a comfortable level.",
             "stimulus": training.reference, "defaultVolume": 0.5},
            training_page,
            trials,  # a nested list: webMUSHRA randomises its order
            {"type": "finish", "name": "Thank you", "content": "Thank you for taking part.", "showResults": False,
             "writeResults": True,
             "questionnaire": [{"type": "text", "label": q["label"], "name": q["name"]}
                               for q in definition.questionnaire]},
        ],
    }


def write_yaml(definition: TestDefinition, path: Path) -> Path:
    """Write the webMUSHRA config (MUSHRA tests; other types get a note instead: webMUSHRA has no such page)."""
    test_id = Path(path).parent.name or "codec-bench"
    if definition.type != "mushra":
        Path(path).write_text(f"# webMUSHRA has no page type for {definition.type} tests; serve this test with "
                              "`bench listen serve`.\n")
        return Path(path)
    text = yaml.safe_dump(webmushra_config(definition, test_id), sort_keys=False, allow_unicode=True)
    Path(path).write_text(text)
    return Path(path)


#: first characters that make a spreadsheet treat a cell as a formula (CSV injection; OWASP's list, with
#: ``|`` for DDE), looked for after leading whitespace and after full-width forms are folded (NFKC: ``＝`` is ``=``)
FORMULA_START = ("=", "+", "-", "@", "|", "\t", "\r", "\n")


def safe_cell(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would run it as a formula (OWASP's advice): it starts
    with whitespace or a control character, or with a formula character once leading whitespace is trimmed
    and full-width characters are folded to their ASCII forms."""
    if not text:
        return text
    folded = unicodedata.normalize("NFKC", text)
    if not text[0].isprintable() or text[0].isspace() or folded.lstrip().startswith(FORMULA_START):
        return "'" + text
    return text


def ratings_to_csv(ratings: list[Rating], test_id: str, questionnaires: dict[str, dict[str, str]]) -> str:
    """Ratings in webMUSHRA's MUSHRA CSV layout; questionnaire fields go between test id and uuid.

    Text cells that a spreadsheet would evaluate as a formula get a leading ``'`` (see :func:`safe_cell`).
    """
    fields = sorted({k for answers in questionnaires.values() for k in answers})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180: a CR or LF inside a cell gets quoted
    writer.writerow(["session_test_id", *fields, *FIXED_COLUMNS[1:]])
    for r in ratings:
        answers = questionnaires.get(r.assessor, {})
        text = [test_id, *(answers.get(f, "") for f in fields), r.assessor, r.trial, r.system]
        writer.writerow([*map(safe_cell, text), f"{r.score:g}", r.time_ms, safe_cell(r.comment)])
    return out.getvalue()


def read_csv(path: str | Path) -> tuple[list[Rating], dict[str, dict[str, str]]]:
    """Parse a webMUSHRA MUSHRA CSV. Returns (ratings, questionnaire answers per assessor).

    Raises:
        InputError: missing columns or a non-numeric score; the message names the file and line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc})") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in FIXED_COLUMNS if c not in header]
    if missing:
        raise InputError(f"{path}: not a webMUSHRA MUSHRA CSV, missing columns {', '.join(missing)}")
    q_fields = header[1: header.index("session_uuid")]
    ratings, answers = [], {}
    for line, row in enumerate(reader, start=2):
        try:
            score = float(row["rating_score"])
            time_ms = int(float(row["rating_time"] or 0))
        except ValueError as exc:
            raise InputError(f"{path}: line {line}: bad number ({exc})") from exc
        assessor = row["session_uuid"]
        answers[assessor] = {f: row[f] for f in q_fields}
        ratings.append(Rating(assessor=assessor, trial=row["trial_id"], item=row["trial_id"],
                              system=row["rating_stimulus"], score=score, time_ms=time_ms,
                              comment=row["rating_comment"] or ""))
    return ratings, answers


ANCHORS = (LOW_ANCHOR, MID_ANCHOR)
