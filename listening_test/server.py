"""The listening-test web app (FastAPI): participant pages, JSON API, audio, admin pages.

Flow for a participant: welcome + consent -> [qualification] -> level check [+ headphone check] ->
training -> trials (order seeded by the participant id) -> questionnaire -> finish. The session link ``/s/<id>`` resumes at the right step, and
the server refuses steps taken out of order.

Defences: JSON bodies only (``Content-Type: application/json``, so no cross-site form can post), a
``Host`` check against DNS rebinding (IP literals, ``localhost`` and ``allowed_hosts``), ``no-store`` on
admin pages, duplicate JSON keys refused. Storage calls never run on the event loop: reads in worker
threads, writes on one writer thread with group commit, so a slow or locked database does not stall
the others.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from listening_test.admin import admin_page
from listening_test.bodies import (
    HeadphoneIn,
    HTTPError,
    ProgressIn,
    QuestionnaireIn,
    SessionIn,
    TrialIn,
    read_model,
)
from listening_test.checks import HEADPHONE_PASS, HEADPHONE_TRIALS, headphone_outcome
from listening_test.definition import TestDefinition
from listening_test.questionnaire import AnswerError, validate_answers
from listening_test.session import abx_x, participant_plan, phase, presented_order
from listening_test.storage import PROGRESS_STEPS, Participant, Storage
from listening_test.testtypes import get_test_type
from listening_test.testtypes.base import RatingError
from listening_test.webmushra import ratings_to_csv
from listening_test.wording import load_texts
from listening_test.writer import Writer, in_thread

_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
STATIC = {"app.js": "text/javascript", "style.css": "text/css", "index.html": "text/html"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; media-src 'self' blob:; "
       "connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


def _host_allowed(host_header: str, allowed: set[str]) -> bool:
    """IP literals, ``localhost`` and the configured names pass; DNS rebinding comes with another name."""
    host = host_header.strip().lower()
    if host.startswith("["):  # [v6]:port
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    if not host:
        return False
    if host == "localhost" or host in allowed:
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _static(name: str) -> bytes:
    return resources.files("listening_test").joinpath("static", name).read_bytes()


def create_app(test_dir: Path, definition: TestDefinition, storage: Storage, admin_token: str,
               allowed_hosts: list[str] | tuple[str, ...] = ()) -> FastAPI:
    """Build the app for one test folder. ``admin_token`` guards ``/admin`` (query ``token=``);
    ``allowed_hosts`` are the host names (besides IP addresses and ``localhost``) the app answers to."""
    hosts = {h.strip().lower() for h in allowed_hosts if h.strip()}
    write = Writer(storage)
    kind = get_test_type(definition.type)
    scale = kind.scale
    texts = load_texts(test_dir)
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
        host = request.headers.get("host", "")
        if not _host_allowed(host, hosts):
            response: Response = JSONResponse(
                {"error": f"host {host[:100]!r} is not served here (start the server with --allowed-host NAME)"},
                status_code=421)
        else:
            response = await call_next(request)
        if request.url.path.startswith("/admin"):
            response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    async def participant_or_404(pid: str) -> Participant:
        p = await in_thread(storage.participant, pid) if _ID.match(pid) else None
        if p is None:
            raise HTTPError(404, "unknown session")
        return p

    def ended(p: Participant) -> None:
        if phase(definition, p, []) == "screened_out":
            raise HTTPError(409, "the headphone check was not passed: this session has ended")

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

    @app.get("/api/sessions/{pid}/x/{trial_id}")
    async def abx_sample(pid: str, trial_id: str) -> Response:
        await participant_or_404(pid)
        trial = definition.trial(trial_id)
        if kind.page != "abx" or trial is None:
            raise HTTPError(404, "no such sample")
        item = definition.item(trial.item)
        full = (test_dir / item.stimulus(abx_x(definition, pid, trial_id)).file).resolve()  # type: ignore[union-attr]
        return FileResponse(full, media_type="audio/wav", headers={"Cache-Control": "no-store"})

    @app.get("/api/test")
    async def test_info() -> dict[str, Any]:
        return {"title": definition.title, "type": definition.type, "sample_rate": definition.sample_rate,
                "questionnaire": definition.questionnaire, "n_trials": len(definition.trials),
                "id_param": definition.crowd.get("id_param", ""), "texts": texts}

    @app.post("/api/sessions", status_code=201)
    async def new_session(request: Request) -> dict[str, Any]:
        body = await read_model(request, SessionIn)
        if not body.consent:
            raise HTTPError(422, "consent is required to take part")
        pid = uuid.uuid4().hex + secrets.token_hex(4)
        await write(storage.create_participant, pid, body.external_id)
        return {"participant": pid, "link": f"/s/{pid}"}

    @app.get("/api/sessions/{pid}")
    async def session(pid: str) -> dict[str, Any]:
        p = await participant_or_404(pid)
        completed = await in_thread(storage.completed_trials, pid)
        current = phase(definition, p, completed)
        hp = p.checks.get("headphone")
        return {"headphone_result": {**hp, "needed": HEADPHONE_PASS} if hp else None,
                "break_every": int(definition.options.get("break_every", kind.break_every)),"participant": pid, "type": definition.type, "title": definition.title,
                "phase": current, "completed": completed, "scale": scale.to_json(), "page": kind.page,
                "options": definition.options,
                "completion": {k: v for k, v in definition.crowd.items() if k != "id_param"} if current == "done" else {},
                "headphone_check": definition.headphone_check and "headphone" not in p.checks,
                "headphone_trials": HEADPHONE_TRIALS, "qualification": definition.qualification,
                "sample_rate": definition.sample_rate, "questionnaire": definition.questionnaire,
                **participant_plan(definition, pid)}

    @app.post("/api/sessions/{pid}/progress")
    async def progress(pid: str, request: Request) -> dict[str, Any]:
        p = await participant_or_404(pid)
        body = await read_model(request, ProgressIn)
        ended(p)
        if body.step not in PROGRESS_STEPS:
            raise HTTPError(422, f"step must be one of {', '.join(PROGRESS_STEPS)}")
        earlier = PROGRESS_STEPS[:PROGRESS_STEPS.index(body.step)]
        if any(getattr(p, f"{step}_at") is None for step in earlier):
            raise HTTPError(409, f"finish the {' and '.join(earlier)} step first")
        if definition.qualification and "qualification" not in p.checks:
            raise HTTPError(409, "answer the qualification questions first")
        if body.step == "level" and definition.headphone_check and "headphone" not in p.checks:
            raise HTTPError(409, "do the headphone check first")
        await write(storage.set_progress, pid, body.step, body.audio_rate)
        return {"ok": True}

    @app.post("/api/sessions/{pid}/trials/{trial_id}")
    async def submit(pid: str, trial_id: str, request: Request) -> JSONResponse:
        p = await participant_or_404(pid)
        trial = definition.trial(trial_id)
        if trial is None:
            raise HTTPError(404, "unknown trial")
        body = await read_model(request, TrialIn)
        ended(p)
        if not (p.level_at and p.training_at):
            raise HTTPError(409, "finish the level check and training before the trials")
        item = definition.item(trial.item)
        order = presented_order(definition, pid, trial.id)
        try:
            ratings = kind.stored_ratings(trial, item, body.ratings, order, definition.options)
        except RatingError as exc:
            raise HTTPError(422, str(exc)) from exc
        status = await write(storage.submit_trial, pid, trial.id, item.id, body.key, ratings, body.time_ms,
                                 body.comment)
        if status == "conflict":
            raise HTTPError(409, "this trial was already submitted with other ratings; they are kept")
        return JSONResponse({"status": status}, status_code=201 if status == "stored" else 200)

    @app.post("/api/sessions/{pid}/checks/{name}")
    async def check(pid: str, name: str, request: Request) -> dict[str, Any]:
        p = await participant_or_404(pid)
        if name == "qualification" and definition.qualification:
            answers = (await read_model(request, QuestionnaireIn)).answers
            try:
                validate_answers(definition.qualification, answers)
            except AnswerError as exc:
                raise HTTPError(422, f"invalid answer: {exc}") from exc
            outcome: dict[str, Any] = answers
        elif name == "headphone" and definition.headphone_check:
            body = await read_model(request, HeadphoneIn)
            if definition.qualification and "qualification" not in p.checks:
                raise HTTPError(409, "answer the qualification questions first")
            outcome = headphone_outcome(body.correct, body.total)
        else:
            raise HTTPError(404, "this test has no such check")
        if not await write(storage.save_check, pid, name, outcome):
            raise HTTPError(409, f"the {name} check was already recorded")
        return {"ok": True, **({"passed": outcome["passed"]} if name == "headphone" else {})}

    @app.post("/api/sessions/{pid}/questionnaire")
    async def questionnaire(pid: str, request: Request) -> dict[str, Any]:
        p = await participant_or_404(pid)
        body = await read_model(request, QuestionnaireIn)
        try:
            validate_answers(definition.questionnaire, body.answers)
        except AnswerError as exc:
            raise HTTPError(422, f"invalid answer: {exc}") from exc
        current = phase(definition, p, await in_thread(storage.completed_trials, pid))
        if current == "done":
            raise HTTPError(409, "the questionnaire was already submitted")
        if current != "questionnaire":
            raise HTTPError(409, "finish all trials first")
        if not await write(storage.save_questionnaire, pid, body.answers):
            raise HTTPError(409, "the questionnaire was already submitted")
        return {"ok": True}

    @app.get("/admin", response_class=HTMLResponse)
    async def admin(request: Request) -> HTMLResponse:
        check_admin(request)
        return HTMLResponse(await in_thread(admin_page, definition, storage, admin_token))

    @app.get("/admin/export.csv")
    async def export(request: Request) -> PlainTextResponse:
        check_admin(request)
        def export_text() -> str:
            answers = {p.id: p.questionnaire or {} for p in storage.participants()}
            return ratings_to_csv(storage.ratings(), test_dir.name, answers)

        text = await in_thread(export_text)
        return PlainTextResponse(text, media_type="text/csv",
                                 headers={"Content-Disposition": 'attachment; filename="ratings.csv"'})

    return app
