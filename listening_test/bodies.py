"""Request bodies of the listening-test API: strict pydantic models, read with a size limit, as JSON
only (no cross-site form posts), with repeated keys refused, and errors answered as ``{"error": ...}``."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from listening_test.checks import HEADPHONE_TRIALS

MAX_BODY = 64 * 1024


class HTTPError(Exception):
    """An error answered as JSON ``{"error": message}`` with a 4xx status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SessionIn(Strict):
    consent: bool
    external_id: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.@:-]+$")


class ProgressIn(Strict):
    step: str
    audio_rate: int | None = Field(default=None, ge=1000, le=768000)


class TrialIn(Strict):
    key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    ratings: dict[str, float | int]
    time_ms: int = Field(ge=0, le=24 * 3600 * 1000)
    comment: str = Field(default="", max_length=2000)


class QuestionnaireIn(Strict):
    answers: dict[str, str]


class HeadphoneIn(Strict):
    correct: int = Field(ge=0, le=HEADPHONE_TRIALS)
    total: int = Field(ge=HEADPHONE_TRIALS, le=HEADPHONE_TRIALS)


def refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise HTTPError(422, f"{key!r} appears twice in one object (each stimulus is rated once)")
        seen.add(key)
    return dict(pairs)


async def read_model(request: Request, model: type[Strict]) -> Any:
    """The body parsed into ``model``: 415 unless sent as JSON, 413 when too large, 400 when not JSON,
    422 when invalid or when an object repeats a key."""
    ctype = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if ctype != "application/json":
        raise HTTPError(415, "send the body as JSON (Content-Type: application/json)")
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise HTTPError(413, f"body larger than {MAX_BODY} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise HTTPError(413, f"body larger than {MAX_BODY} bytes")
    try:  # only to find repeated keys, which the model's own parser would silently resolve as "last wins"
        json.loads(body, object_pairs_hook=refuse_duplicate_keys)
    except ValueError:
        pass  # reported below by the model's parser, with its message
    except RecursionError:
        raise HTTPError(400, "body nests too deeply to be a valid request") from None
    try:
        return model.model_validate_json(body)
    except RecursionError:
        raise HTTPError(400, "body nests too deeply to be a valid request") from None
    except ValidationError as exc:
        kinds = {e["type"] for e in exc.errors()}
        if "json_invalid" in kinds or "json_type" in kinds:
            raise HTTPError(400, "body is not valid JSON") from exc
        first = exc.errors()[0]
        raise HTTPError(422, f"invalid field {'.'.join(map(str, first['loc']))}: {first['msg']}") from exc
