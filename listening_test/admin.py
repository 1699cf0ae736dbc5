"""Admin pages: progress table and comments. Everything a participant typed is HTML-escaped."""

from __future__ import annotations

from html import escape

from listening_test.definition import TestDefinition
from listening_test.storage import Storage


def screening_status(definition: TestDefinition, storage: Storage) -> dict[str, str]:
    """Participant -> "kept" or "excluded: reasons", by the test type's rules on the ratings so far."""
    from listening_test.analysis import screen
    from listening_test.checks import check_problems
    from listening_test.session import phase
    from listening_test.testtypes import get_test_type, min_trial_ms

    participants = storage.participants()
    ratings = storage.ratings()
    outcome = screen(get_test_type(definition.type), ratings, {p.id: p.checks for p in participants},
                     min_trial_ms(definition))
    rated = {r.assessor for r in ratings}

    def status(p) -> str:
        if p.id in outcome.excluded:
            return "excluded: " + outcome.excluded[p.id]
        if phase(definition, p, []) == "screened_out":
            return "session ended: " + "; ".join(check_problems(p.checks))
        return "kept" if p.id in rated else "no ratings yet"

    return {p.id: status(p) for p in participants}


def admin_page(definition: TestDefinition, storage: Storage, token: str) -> str:
    """The progress page as HTML (no scripts, no external resources), with each participant's screening
    outcome so far (live: recomputed on every load)."""
    from listening_test.p808 import is_check_condition
    from listening_test.panel import assessors, check_panel
    from listening_test.stats import summarise
    from listening_test.testtypes import get_test_type

    n_trials = len(definition.trials)
    status = screening_status(definition, storage)
    ratings = storage.ratings()
    times: dict[str, dict[str, int]] = {}
    for r in ratings:
        times.setdefault(r.assessor, {})[r.trial] = r.time_ms
    rows = []
    for p in storage.participants():
        done = len(storage.completed_trials(p.id))
        answers = "; ".join(f"{k}={v}" for k, v in (p.questionnaire or {}).items())
        ms = sorted(times.get(p.id, {}).values())
        timing = f"{ms[len(ms) // 2] / 1000:.1f} / {ms[0] / 1000:.1f}" if ms else ""
        rows.append(
            f"<tr><td><code>{escape(p.id)}</code></td><td>{escape(p.external_id or '')}</td><td>{escape(p.created)}</td><td>{done}/{n_trials}</td>"
            f"<td>{timing}</td><td>{escape(str(p.audio_rate or ''))}</td><td>{'yes' if p.finished_at else 'no'}</td>"
            f"<td>{escape(answers)}</td><td>{escape(status.get(p.id, ''))}</td></tr>")
    by_condition: dict[str, list[float]] = {}
    for r in ratings:
        if not is_check_condition(r.system):
            by_condition.setdefault(r.system, []).append(r.score)
    means = []
    for c, scores in sorted(by_condition.items()):
        s = summarise(scores)
        ci = f"± {s.ci95:.2f}" if s.n > 1 else ""
        means.append(f"<tr><td>{escape(c)}</td><td>{s.n}</td><td>{s.mean:.2f} {ci}</td></tr>")
    n_kept = sum(v == "kept" for v in status.values())
    panel = check_panel(get_test_type(definition.type), n_kept)
    panel_text = (f"{assessors(n_kept)} kept by the screening so far. " + (panel.warning if not panel.ok else ""))
    comments = [f"<tr><td><code>{escape(pid)}</code></td><td>{escape(trial)}</td><td>{escape(text)}</td></tr>"
                for pid, trial, text in storage.comments()]
    token_q = escape(token, quote=True)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Admin: {escape(definition.title)}</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/style.css"></head>
<body><main class="admin">
<h1>{escape(definition.title)}: progress</h1>
<p>{escape(definition.type.upper())} test, {n_trials} trials, systems: {escape(', '.join(definition.systems))}.
<a href="/admin/export.csv?token={token_q}">Download ratings (webMUSHRA CSV)</a></p>
<div class="table-scroll"><table id="participants"><thead><tr><th>participant</th><th>external id</th><th>started</th><th>trials</th>
<th>trial time, median / fastest (s)</th><th>audio rate</th><th>finished</th>
<th>questionnaire</th><th>screening so far</th></tr></thead>
<tbody>{''.join(rows) or '<tr><td colspan="9">nobody yet</td></tr>'}
</tbody></table></div>
<p id="panel"{'' if panel.ok else ' class="warning"'}>{escape(panel_text)}</p>
<h2>Ratings so far, per condition</h2>
<p class="muted">All ratings received, before post-screening; mean with 95% CI (t). For a first look only:
run <code>bench listen analyze</code> for the screened results.</p>
<div class="table-scroll"><table id="condition-means"><thead><tr><th>condition</th><th>n</th><th>mean</th></tr></thead>
<tbody>{''.join(means) or '<tr><td colspan="3">no ratings yet</td></tr>'}</tbody></table></div>
<h2>Comments</h2>
<div class="table-scroll"><table><thead><tr><th>participant</th><th>trial</th><th>comment</th></tr></thead>
<tbody>{''.join(comments) or '<tr><td colspan="3">none</td></tr>'}</tbody></table></div>
</main></body></html>
"""
