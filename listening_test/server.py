"""The listening-test web app (FastAPI): participant pages, JSON API, audio, admin pages.

Flow for a participant: welcome + consent -> level check -> training -> trials (order seeded by the
participant id) -> questionnaire -> finish. The session link ``/s/<id>`` resumes at the right step.
"""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from listening_test.admin import admin_page
from listening_test.definition import TestDefinition
from listening_test.session import participant_plan, phase
from listening_test.storage import PROGRESS_STEPS, Participant, Storage, TrialRating
from listening_test.webmushra import ratings_to_csv

MAX_BODY = 64 * 1024
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
STATIC = {"app.js": "text/javascript", "style.css": "text/css", "index.html": "text/html"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; media-src 'self' blob:; "
       "connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


class HTTPError(Exception):
    """An error answered as JSON ``{"error": message}`` with a 4xx status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SessionIn(_Strict):
    consent: bool


class ProgressIn(_Strict):
    step: str
    audio_rate: int | None = Field(default=None, ge=1000, le=768000)


class TrialIn(_Strict):
    key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    ratings: dict[str, float | int]
    time_ms: int = Field(ge=0, le=24 * 3600 * 1000)
    comment: str = Field(default="", max_length=2000)


class QuestionnaireIn(_Strict):
    answers: dict[str, str]


def _static(name: str) -> bytes:
    return resources.files("listening_test").joinpath("static", name).read_bytes()


async def _read_model(request: Request, model: type[_Strict]) -> Any:
    """The body parsed into ``model``: 413 when too large, 400 when not JSON, 422 when invalid."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise HTTPError(413, f"body larger than {MAX_BODY} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise HTTPError(413, f"body larger than {MAX_BODY} bytes")
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        kinds = {e["type"] for e in exc.errors()}
        if "json_invalid" in kinds or "json_type" in kinds:
            raise HTTPError(400, "body is not valid JSON") from exc
        first = exc.errors()[0]
        raise HTTPError(422, f"invalid field {'.'.join(map(str, first['loc']))}: {first['msg']}") from exc


def create_app(test_dir: Path, definition: TestDefinition, storage: Storage, admin_token: str) -> FastAPI:
    """Build the app for one test folder. ``admin_token`` guards ``/admin`` (query ``token=``)."""
    app = FastAPI(title=definition.title, docs_url=None, redoc_url=None, openapi_url=None)
    audio_files = definition.audio_files()
    test_dir = Path(test_dir).resolve()

    @app.exception_handler(HTTPError)
    async def _http_error(request: Request, exc: HTTPError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def _starlette_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def participant_or_404(pid: str) -> Participant:
        p = storage.participant(pid) if _ID.match(pid) else None
        if p is None:
            raise HTTPError(404, "unknown session")
        return p

    def check_admin(request: Request) -> None:
        given = request.query_params.get("token") or request.headers.get("x-admin-token") or ""
        if not hmac.compare_digest(given.encode(), admin_token.encode()):
            raise HTTPError(403, "admin token required")

    @app.get("/", response_class=HTMLResponse)
    @app.get("/s/{pid}", response_class=HTMLResponse)
    async def page(pid: str | None = None) -> Response:
        return Response(_static("index.html"), media_type="text/html; charset=utf-8")

    @app.get("/static/{name}")
    async def static(name: str) -> Response:
        if name not in STATIC:
            raise HTTPError(404, "no such file")
        return Response(_static(name), media_type=STATIC[name] + "; charset=utf-8")

    @app.get("/audio/{path:path}")
    async def audio(path: str) -> Response:
        rel = f"audio/{path}"
        if rel not in audio_files:  # only files named in test.json; no '..', no absolute paths
            raise HTTPError(404, "no such audio file")
        full = (test_dir / rel).resolve()
        if not full.is_relative_to(test_dir) or not full.is_file():
            raise HTTPError(404, "no such audio file")
        return FileResponse(full, media_type="audio/wav")

    @app.get("/api/test")
    async def test_info() -> dict[str, Any]:
        return {"title": definition.title, "type": definition.type, "sample_rate": definition.sample_rate,
                "questionnaire": definition.questionnaire, "n_trials": len(definition.trials)}

    @app.post("/api/sessions", status_code=201)
    async def new_session(request: Request) -> dict[str, Any]:
        body = await _read_model(request, SessionIn)
        if not body.consent:
            raise HTTPError(422, "consent is required to take part")
        pid = uuid.uuid4().hex + secrets.token_hex(4)
        storage.create_participant(pid)
        return {"participant": pid, "link": f"/s/{pid}"}

    @app.get("/api/sessions/{pid}")
    async def session(pid: str) -> dict[str, Any]:
        p = participant_or_404(pid)
        completed = storage.completed_trials(pid)
        return {"participant": pid, "type": definition.type, "title": definition.title,
                "phase": phase(definition, p, completed), "completed": completed,
                "sample_rate": definition.sample_rate, "questionnaire": definition.questionnaire,
                **participant_plan(definition, pid)}

    @app.post("/api/sessions/{pid}/progress")
    async def progress(pid: str, request: Request) -> dict[str, Any]:
        participant_or_404(pid)
        body = await _read_model(request, ProgressIn)
        if body.step not in PROGRESS_STEPS:
            raise HTTPError(422, f"step must be one of {', '.join(PROGRESS_STEPS)}")
        storage.set_progress(pid, body.step, body.audio_rate)
        return {"ok": True}

    @app.post("/api/sessions/{pid}/trials/{trial_id}")
    async def submit(pid: str, trial_id: str, request: Request) -> JSONResponse:
        participant_or_404(pid)
        trial = definition.trial(trial_id)
        if trial is None:
            raise HTTPError(404, "unknown trial")
        body = await _read_model(request, TrialIn)
        item = definition.item(trial.item)
        if set(body.ratings) != set(trial.stimuli):
            unknown = sorted(set(body.ratings) - set(trial.stimuli))
            raise HTTPError(422, f"unknown stimuli {unknown}" if unknown else "every stimulus must be rated")
        lo, hi = (0, 100) if definition.type == "mushra" else (1, 5)
        ratings = []
        for sid, score in body.ratings.items():
            if isinstance(score, bool) or not lo <= score <= hi or (definition.type == "mos" and score != int(score)):
                raise HTTPError(422, f"score for {sid} must be {'a number' if lo == 0 else 'an integer'} in {lo}-{hi}")
            ratings.append(TrialRating(stimulus=sid, system=item.stimulus(sid).system, score=float(score)))  # type: ignore[union-attr]
        status = storage.submit_trial(pid, trial.id, item.id, body.key, ratings, body.time_ms, body.comment)
        if status == "conflict":
            raise HTTPError(409, "this trial was already submitted with other ratings")
        return JSONResponse({"status": status}, status_code=201 if status == "stored" else 200)

    @app.post("/api/sessions/{pid}/questionnaire")
    async def questionnaire(pid: str, request: Request) -> dict[str, Any]:
        p = participant_or_404(pid)
        body = await _read_model(request, QuestionnaireIn)
        allowed = {q["name"] for q in definition.questionnaire}
        unknown = sorted(set(body.answers) - allowed)
        if unknown or any(len(v) > 500 for v in body.answers.values()):
            raise HTTPError(422, f"unknown questionnaire fields {unknown}" if unknown else "answer too long")
        if phase(definition, p, storage.completed_trials(pid)) not in ("questionnaire", "done"):
            raise HTTPError(409, "finish all trials first")
        storage.save_questionnaire(pid, body.answers)
        return {"ok": True}

    @app.get("/admin", response_class=HTMLResponse)
    async def admin(request: Request) -> HTMLResponse:
        check_admin(request)
        return HTMLResponse(admin_page(definition, storage, admin_token))

    @app.get("/admin/export.csv")
    async def export(request: Request) -> PlainTextResponse:
        check_admin(request)
        answers = {p.id: p.questionnaire or {} for p in storage.participants()}
        text = ratings_to_csv(storage.ratings(), test_dir.name, answers)
        return PlainTextResponse(text, media_type="text/csv",
                                 headers={"Content-Disposition": 'attachment; filename="ratings.csv"'})

    return app
