"""The end-of-test questionnaire: answers checked against the test's own question list.

A question is ``{"name", "label", "type"}`` with ``type`` one of ``text`` (``max_length``, default 500),
``number`` (optional ``min``/``max``) or ``choice`` (``options``). Every question must be answered (an empty
or missing answer is refused, naming the question) unless it is marked ``"optional": true``.
"""

from __future__ import annotations

import math
from typing import Any

TEXT_MAX = 500


class AnswerError(ValueError):
    """An answer that does not fit its question; the message starts with the field name."""


def is_optional(q: dict[str, Any]) -> bool:
    """Whether ``q`` may be left empty: only when the test marks it ``"optional": true``."""
    return bool(q.get("optional", False))


def _check(q: dict[str, Any], value: str) -> None:
    name, kind = q["name"], q.get("type", "text")
    if len(value) > int(q.get("max_length", TEXT_MAX)):
        raise AnswerError(f"{name}: answer longer than {q.get('max_length', TEXT_MAX)} characters")
    if value.strip() == "":
        if not is_optional(q):
            raise AnswerError(f"{name}: an answer is required ({q.get('label', name)!r} was left empty)")
        return
    if kind == "number":
        try:
            x = float(value)
        except ValueError:
            raise AnswerError(f"{name}: {value[:40]!r} is not a number") from None
        if not math.isfinite(x):
            raise AnswerError(f"{name}: must be a finite number")
        lo, hi = q.get("min", -math.inf), q.get("max", math.inf)
        if not lo <= x <= hi:
            raise AnswerError(f"{name}: {x:g} is outside {lo:g}-{hi:g}")
    elif kind == "choice" and value not in q.get("options", []):
        raise AnswerError(f"{name}: {value[:40]!r} is not one of {', '.join(q.get('options', []))}")


def validate_answers(questions: list[dict[str, Any]], answers: dict[str, str]) -> dict[str, str]:
    """``answers`` if every one names a question and fits it; else :class:`AnswerError`."""
    by_name = {q["name"]: q for q in questions}
    unknown = sorted(set(answers) - set(by_name))
    if unknown:
        raise AnswerError(f"unknown questionnaire fields {unknown}")
    for name, q in by_name.items():
        _check(q, answers.get(name, ""))
    return answers
