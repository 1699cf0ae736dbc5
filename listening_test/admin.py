"""Admin pages: progress table and comments. Everything a participant typed is HTML-escaped."""

from __future__ import annotations

from html import escape

from listening_test.definition import TestDefinition
from listening_test.storage import Storage


def screening_status(definition: TestDefinition, storage: Storage) -> dict[str, str]:
    """Participant -> "kept" or "excluded: reasons", by the test type's rules on the ratings so far."""
    from listening_test.analysis import screen
    from listening_test.testtypes import get_test_type

    participants = storage.participants()
    ratings = storage.ratings()
    outcome = screen(get_test_type(definition.type), ratings, {p.id: p.checks for p in participants})
    rated = {r.assessor for r in ratings}
    return {p.id: ("excluded: " + outcome.excluded[p.id] if p.id in outcome.excluded
                   else "kept" if p.id in rated else "no ratings yet") for p in participants}


def admin_page(definition: TestDefinition, storage: Storage, token: str) -> str:
    """The progress page as HTML (no scripts, no external resources), with each participant's screening
    outcome so far (live: recomputed on every load)."""
    n_trials = len(definition.trials)
    status = screening_status(definition, storage)
    rows = []
    for p in storage.participants():
        done = len(storage.completed_trials(p.id))
        answers = "; ".join(f"{k}={v}" for k, v in (p.questionnaire or {}).items())
        rows.append(
            f"<tr><td><code>{escape(p.id)}</code></td><td>{escape(p.external_id or '')}</td><td>{escape(p.created)}</td><td>{done}/{n_trials}</td>"
            f"<td>{escape(str(p.audio_rate or ''))}</td><td>{'yes' if p.finished_at else 'no'}</td>"
            f"<td>{escape(answers)}</td><td>{escape(status.get(p.id, ''))}</td></tr>")
    comments = [f"<tr><td><code>{escape(pid)}</code></td><td>{escape(trial)}</td><td>{escape(text)}</td></tr>"
                for pid, trial, text in storage.comments()]
    token_q = escape(token, quote=True)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Admin: {escape(definition.title)}</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/style.css"></head>
<body><main class="admin">
<h1>{escape(definition.title)}: progress</h1>
<p>{escape(definition.type.upper())} test, {n_trials} trials, systems: {escape(', '.join(definition.systems))}.
<a href="/admin/export.csv?token={token_q}">Download ratings (webMUSHRA CSV)</a></p>
<table><thead><tr><th>participant</th><th>external id</th><th>started</th><th>trials</th><th>audio rate</th><th>finished</th>
<th>questionnaire</th><th>screening so far</th></tr></thead>
<tbody>{''.join(rows) or '<tr><td colspan="8">nobody yet</td></tr>'}
</tbody></table>
<h2>Comments</h2>
<table><thead><tr><th>participant</th><th>trial</th><th>comment</th></tr></thead>
<tbody>{''.join(comments) or '<tr><td colspan="3">none</td></tr>'}</tbody></table>
</main></body></html>
"""
