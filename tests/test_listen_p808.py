"""P.808 for ACR tests: qualification, headphone check, gold and trapping questions, rater screening.

Chromium drives whole sessions (a careful listener, one who fails a gold question, one listening over
loudspeakers); the analysis then excludes exactly the failing ones, with their reasons. The screening
rules are also tested at their boundaries on synthetic ratings.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import httpx
import pytest

from bench.cli import main as bench_main
from listening_test.build import BuildOptions, build_test
from listening_test.checks import HEADPHONE_PASS, HEADPHONE_TRIALS, check_problems, headphone_outcome
from listening_test.definition import TestDefinition
from listening_test.ratings import Rating
from listening_test.testtypes.acr import screen_p808
from tests.listen_util import fill_answers, make_run_folder
from tests.test_listen_browser import new_page, play_all, serve

#: which tone a listener hears as quietest: per channel over headphones, the channel sum over loudspeakers
QUIETEST_JS = """(mode) => {
  const b = window.ListeningTestHeadphoneTones, sr = b.sampleRate;
  const tone = Math.round(0.8 * sr), gap = Math.round(0.4 * sr), L = b.getChannelData(0), R = b.getChannelData(1);
  const e = [0, 1, 2].map((k) => { let s = 0;
    for (let i = k * (tone + gap); i < k * (tone + gap) + tone; i++)
      s += mode === "headphones" ? L[i] * L[i] + R[i] * R[i] : (L[i] + R[i]) ** 2;
    return s; });
  return 1 + e.indexOf(Math.min(...e));
}"""


@pytest.fixture(scope="module")
def p808_dir(tmp_path_factory) -> Path:
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed (speaks the trap messages)")
    run = make_run_folder(tmp_path_factory.mktemp("run"), n_utts=2, seconds=1.0)
    out = tmp_path_factory.mktemp("acr")
    build_test(BuildOptions(run_dir=run, out=out, type="mos", items=1, seconds=0.6, gold=True, traps=1,
                            qualification=True, headphone_check=True))
    return out


def session(browser, url: str, definition: TestDefinition, *, device: str, hears: str,
            gold_reference: int) -> tuple[str, dict]:
    """One participant through qualification, headphone check, training and every trial; ``hears`` is how
    the tones reach them ("headphones": each channel alone, "loudspeakers": the channels summed)."""
    page, errors = new_page(browser)
    page.goto(url + "/")
    page.check("#consent")
    page.click("#start")
    page.get_by_role("heading", name="Before we start").wait_for()
    page.select_option("select[name=hearing]", "yes")
    page.select_option("select[name=environment]", "quiet")
    page.select_option("select[name=device]", device)
    page.click("#submit-qualification")
    page.locator("#headphone-check").wait_for()
    page.click("#level-play")
    assert page.locator("#level-ok").is_disabled()  # the headphone check comes first
    for _ in range(HEADPHONE_TRIALS):
        page.click("#hp-play")
        page.click(f"#hp-{page.evaluate(QUIETEST_JS, hears)}")
    if hears == "loudspeakers":  # a failed headphone check ends the session (P.808)
        page.locator("#screened-out").wait_for()
        assert not errors, errors
        pid = page.url.rsplit("/", 1)[1]
        page.close()
        return pid, {}
    page.locator("#level-ok:enabled").wait_for()
    page.click("#level-ok")
    page.get_by_role("heading", name="Training").wait_for()
    play_all(page)
    page.click("#next")
    system_of = {s.id: s.system for it in definition.items for s in it.stimuli}
    entered = {}
    total = len(definition.trials)
    for n in range(1, total + 1):
        page.get_by_role("heading", name=f"Trial {n} of {total}").wait_for()
        sid = page.locator("button.stim").get_attribute("data-stimulus")
        system = system_of[sid]
        score = {"gold_reference": gold_reference, "gold_degraded": 1, "trap_2": 2}.get(system, 3 + n % 2)
        page.locator("button.stim").click()
        page.locator(f"input[name=acr][value='{score}']").check()
        page.click("#next")
        entered[next(t.id for t in definition.trials if t.stimuli == [sid])] = score
    page.get_by_role("heading", name="A few questions").wait_for()
    fill_answers(page)
    page.click("#submit-questionnaire")
    page.locator("#done").wait_for()
    assert not errors, errors
    pid = page.url.rsplit("/", 1)[1]
    page.close()
    return pid, entered


def test_p808_acr_end_to_end_excludes_who_fails_a_check(browser, p808_dir):
    server, definition = serve(p808_dir)
    assert {s.system for it in definition.items for s in it.stimuli} >= {"gold_reference", "gold_degraded", "trap_2"}
    with server as srv:
        careful, e1 = session(browser, srv.url, definition, device="headphones", hears="headphones", gold_reference=5)
        sloppy, e2 = session(browser, srv.url, definition, device="headphones", hears="headphones", gold_reference=3)
        speakers, e3 = session(browser, srv.url, definition, device="earbuds", hears="loudspeakers", gold_reference=4)
        admin = httpx.get(f"{srv.url}/admin?token={'tok' * 8}").text
    with sqlite3.connect(p808_dir / "results.sqlite") as conn:
        stored = {(p, t): v for p, t, v in conn.execute("SELECT participant, trial, score FROM ratings")}
        checks = {p: json.loads(c) for p, c in conn.execute("SELECT id, checks FROM participants")}
    entered = {(p, t): float(v) for p, e in ((careful, e1), (sloppy, e2), (speakers, e3)) for t, v in e.items()}
    assert stored == entered
    assert checks[careful]["headphone"] == {"correct": 6, "total": 6, "passed": True}
    assert checks[careful]["qualification"] == {"hearing": "yes", "environment": "quiet", "device": "headphones"}
    assert checks[speakers]["headphone"]["passed"] is False  # over loudspeakers the antiphase tone is quietest
    for pid, outcome in ((careful, "kept"), (sloppy, "excluded: rated the clean reference"),
                         (speakers, "session ended: failed the headphone check")):
        row = next(line for line in admin.split("<tr>") if pid in line)
        assert outcome in row  # the admin page shows the screening outcome live
    assert bench_main(["listen", "analyze", str(p808_dir)]) == 0
    result = json.loads((p808_dir / "analysis" / "analysis.json").read_text())
    assert result["n_assessors"] == 2 and result["n_kept"] == 1  # the session that failed the check rated nothing
    assert "clean reference (gold question) 3, expected 4-5" in result["excluded"][sloppy]
    conditions = {r["condition"] for r in result["summary"]}
    assert conditions == {"reference", "noisy", "muffled"}  # gold and trap stimuli never enter the statistics
    screening_md = (p808_dir / "analysis" / "screening.md").read_text()
    assert "Effect on the results" in screening_md and sloppy in screening_md


def test_checks_are_enforced_by_the_server(p808_dir):
    server, _ = serve(p808_dir)
    with server as srv, httpx.Client(base_url=srv.url) as c:
        pid = c.post("/api/sessions", json={"consent": True}).json()["participant"]
        url = f"/api/sessions/{pid}"
        assert c.get(url).json()["phase"] == "qualification"
        assert c.post(f"{url}/progress", json={"step": "level"}).status_code == 409
        assert c.post(f"{url}/checks/headphone", json={"correct": 6, "total": 6}).status_code == 409
        r = c.post(f"{url}/checks/qualification", json={"answers": {"hearing": "yes", "environment": "quiet"}})
        assert r.status_code == 422 and "device" in r.json()["error"]  # every qualification question is required
        answers = {"hearing": "yes", "environment": "quiet", "device": "headphones"}
        assert c.post(f"{url}/checks/qualification", json={"answers": answers}).status_code == 200
        assert c.post(f"{url}/checks/qualification", json={"answers": answers}).status_code == 409
        assert c.post(f"{url}/progress", json={"step": "level"}).status_code == 409  # headphone check first
        assert c.post(f"{url}/checks/headphone", json={"correct": 7, "total": 6}).status_code == 422
        assert c.post(f"{url}/checks/headphone", json={"correct": 5, "total": 6}).json() == {"ok": True, "passed": True}
        assert c.post(f"{url}/checks/nope", json={}).status_code == 404
        assert c.post(f"{url}/progress", json={"step": "level"}).status_code == 200


def ratings_for(assessor: str, gold_ref: float, gold_deg: float, traps: dict[int, float]) -> list[Rating]:
    out = [Rating(assessor, "t1", "i1", "gold_reference", gold_ref), Rating(assessor, "t2", "i1", "gold_degraded", gold_deg),
           Rating(assessor, "t3", "i1", "codec", 3.0)]
    out += [Rating(assessor, f"trap{k}", "i1", f"trap_{k}", v) for k, v in traps.items()]
    return out


@pytest.mark.parametrize(("gold_ref", "gold_deg", "traps", "excluded"), [
    (4, 2, {2: 2}, False),   # the edges of both gold ranges pass
    (5, 1, {2: 2, 4: 4}, False),
    (3, 2, {2: 2}, True),    # clean reference rated 3: one below its range
    (4, 3, {2: 2}, True),    # degraded sample rated 3: one above its range
    (5, 1, {2: 3}, True),    # a trap answered one off
    (5, 1, {2: 2, 4: 5}, True),
])
def test_p808_screening_boundaries(gold_ref, gold_deg, traps, excluded):
    s = screen_p808(ratings_for("a", gold_ref, gold_deg, traps) + ratings_for("b", 5, 1, {2: 2}))
    assert ("a" in s.excluded) is excluded and s.kept == (["b"] if excluded else ["a", "b"])


@pytest.mark.parametrize(("correct", "passed"), [(HEADPHONE_PASS - 1, False), (HEADPHONE_PASS, True), (6, True)])
def test_headphone_check_boundary(correct, passed):
    outcome = headphone_outcome(correct, HEADPHONE_TRIALS)
    assert outcome["passed"] is passed and bool(check_problems({"headphone": outcome})) is not passed


@pytest.mark.parametrize(("answers", "reason"), [
    ({"hearing": "no", "environment": "quiet", "device": "headphones"}, "hearing impairment"),
    ({"hearing": "yes", "environment": "noisy", "device": "headphones"}, "noisy place"),
    ({"hearing": "yes", "environment": "some noise", "device": "loudspeakers"}, "loudspeakers"),
    ({"hearing": "yes", "environment": "some noise", "device": "earbuds"}, None),
])
def test_qualification_answers_that_disqualify(answers, reason):
    problems = check_problems({"qualification": answers})
    assert (reason in " ".join(problems)) if reason else problems == []
