"""Listening tests a crowd can take: strict test.json, pairs naming left-out systems, P.808 practice on the
server side (trial times, fast-trial screening, sessions bounded) and, in Chromium, pages that work on a
phone (ACR answers in view, touch swipes on MUSHRA sliders scroll) and a failed headphone check that ends
the session."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from bench.cli import main as bench_main
from listening_test.admin import admin_page
from listening_test.analysis import analyse, screen
from listening_test.build import BuildOptions, build_test
from listening_test.definition import TestDefinition
from listening_test.ratings import Rating
from listening_test.storage import TrialRating, open_storage
from listening_test.testtypes import get_test_type, min_trial_ms
from tests.listen_util import make_run_folder
from tests.test_listen_browser import new_page, play_all, serve, start_session


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return make_run_folder(tmp_path_factory.mktemp("run"), n_utts=3, seconds=1.0)


def test_pairs_naming_a_system_the_test_leaves_out_is_a_one_line_error(run_dir, tmp_path, capsys):
    code = bench_main(["listen", "build", str(run_dir), "--type", "ccr", "--pairs", "noisy:anchor70",
                       "--out", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "anchor70" in err and "allowed: reference, noisy" in err
    assert not (tmp_path / "a" / "test.json").exists()


def test_test_json_is_strict_json_with_a_trap(run_dir, tmp_path):
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed (speaks the trap messages)")
    build_test(BuildOptions(run_dir=run_dir, out=tmp_path, type="mos", items=1, seconds=0.6, traps=1))
    text = (tmp_path / "test.json").read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"test.json holds {c}, which is not JSON"))
    traps = [s for it in data["items"] for s in it["stimuli"] if s["system"].startswith("trap_")]
    assert traps and all(-40 < s["loudness_lufs"] < -10 for s in traps)
    loaded = TestDefinition.load(tmp_path).items[0]
    assert [s.loudness_lufs for s in loaded.stimuli] == [s["loudness_lufs"] for s in data["items"][0]["stimuli"]]


# ---------- in Chromium ----------

def phone_page(browser, width: int = 390, height: int = 844):
    """A page as on a phone: touch screen, mobile viewport."""
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=True, is_mobile=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def inside_viewport(page, selector: str) -> list[str]:
    """The elements matching ``selector`` whose box is not wholly inside the viewport's width."""
    return page.evaluate("""(sel) => [...document.querySelectorAll(sel)].filter((e) => {
        const r = e.getBoundingClientRect(); return r.left < 0 || r.right > window.innerWidth + 0.5;
      }).map((e) => e.textContent)""", selector)


def test_acr_on_a_phone_every_answer_in_view_rating_after_the_whole_sample_and_breaks(browser, run_dir, tmp_path):
    build_test(BuildOptions(run_dir=run_dir, out=tmp_path, type="mos", items=1, seconds=0.6, break_every=2))
    server, definition = serve(tmp_path)
    total = len(definition.trials)
    assert total == 3
    with server as srv:
        page, errors = phone_page(browser, 360, 740)
        start_session(page, srv.url)
        page.get_by_role("heading", name="Training").wait_for()
        first = page.locator("button.stim").first
        first.click()
        assert "played" not in first.get_attribute("class")  # marked once heard to the end
        page.locator("button.stim.played").wait_for()
        play_all(page)
        assert page.locator("button.stim.played").count() == page.locator("button.stim").count()
        page.click("#next")
        for n in range(1, total + 1):
            if n == 3:  # a break after every 2 trials
                page.locator("#break").wait_for()
                assert "2 of 3" in page.locator("main").inner_text()
                page.click("#continue")
            page.get_by_role("heading", name=f"Trial {n} of {total}").wait_for()
            for width in (360, 390, 430):
                page.set_viewport_size({"width": width, "height": 740})
                assert inside_viewport(page, ".acr label") == []  # "1 Bad" too
                assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.locator("input[name=acr][value='1']").check()
            assert "whole recording" in page.locator("#status").inner_text()
            page.locator("button.stim").click()
            page.wait_for_timeout(250)
            assert 0 < int(page.locator("#playbar").get_attribute("aria-valuenow")) < 100  # playback progress
            assert page.locator("#next").is_disabled()  # not heard to the end yet
            page.locator("#next:enabled").wait_for()
            assert page.locator("#status").inner_text() == ""
            page.click("#next")
        page.get_by_role("heading", name="A few questions").wait_for()
        assert not errors, errors


def to_first_mushra_trial(page, url: str) -> None:
    start_session(page, url)
    page.get_by_role("heading", name="Training").wait_for()
    status = page.locator("#status").inner_text()
    assert "not stored" in status and "rate" not in status  # training ratings are neither required nor stored
    play_all(page)
    page.click("#next")
    page.get_by_role("heading", name="Trial 1 of 2").wait_for()


@pytest.fixture(scope="module")
def mushra12(tmp_path_factory) -> Path:
    """A MUSHRA test with 12 conditions per trial (the most BS.1534-3 allows)."""
    run = make_run_folder(tmp_path_factory.mktemp("run12"), n_utts=3, seconds=2.0, extra_systems=7)
    out = tmp_path_factory.mktemp("mushra12")
    build_test(BuildOptions(run_dir=run, out=out, type="mushra", items=2, seconds=2.0))
    return out


def touch(cdp, kind: str, x: float, y: float) -> None:
    points = [] if kind == "touchEnd" else [{"x": x, "y": y, "id": 1}]
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})


def swipe(page, cdp, x0: float, y0: float, x1: float, y1: float, steps: int = 12) -> None:
    touch(cdp, "touchStart", x0, y0)
    for k in range(1, steps + 1):
        touch(cdp, "touchMove", x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps)
        page.wait_for_timeout(16)
    touch(cdp, "touchEnd", x1, y1)
    page.wait_for_timeout(300)


def test_mushra_on_a_phone_swipes_scroll_drags_rate_and_the_reference_stays(browser, mushra12, tmp_path):
    test_dir = tmp_path / "t"
    shutil.copytree(mushra12, test_dir)
    server, _ = serve(test_dir)
    with server as srv:
        page, errors = phone_page(browser)
        to_first_mushra_trial(page, srv.url)
        sliders = page.locator(".vslider")
        assert sliders.count() == 12
        assert page.locator("#keys-help").is_hidden()  # no keyboard on a phone
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert inside_viewport(page, ".col .stim, .vslider, .bands span, #next") == []
        cdp = page.context.new_cdp_session(page)
        second = sliders.nth(1)
        second.scroll_into_view_if_needed()
        box = second.bounding_box()
        y0 = page.evaluate("window.scrollY")
        x, y = box["x"] + 0.6 * box["width"], box["y"] + box["height"] / 2
        swipe(page, cdp, x, y, x, y - 250)  # a vertical swipe that starts on a slider
        assert page.evaluate("window.scrollY") > y0 + 100  # scrolled the page
        assert [s.get_attribute("aria-valuetext") for s in sliders.all()] == ["not rated"] * 12  # rated nothing
        ref = page.locator('button.stim[data-stimulus="ref"]').bounding_box()
        assert 0 <= ref["y"] and ref["y"] + ref["height"] <= 844  # the reference button stayed in view
        assert page.locator(".bands").bounding_box()["y"] >= 0
        third = sliders.nth(2)
        third.scroll_into_view_if_needed()
        box = third.bounding_box()
        y = box["y"] + box["height"] / 2
        swipe(page, cdp, box["x"] + 0.1 * box["width"], y, box["x"] + 0.8 * box["width"], y)  # a drag along it
        assert int(third.get_attribute("aria-valuenow")) == pytest.approx(80, abs=3)
        next_box = page.locator("#next").bounding_box()
        assert next_box["x"] + next_box["width"] <= 390 and next_box["y"] + next_box["height"] <= 844  # in reach
        assert not errors, errors


def test_mushra_at_1280x800_nothing_clipped_and_next_in_view(browser, mushra12, tmp_path):
    test_dir = tmp_path / "t"
    shutil.copytree(mushra12, test_dir)
    server, _ = serve(test_dir)
    with server as srv:
        page, errors = new_page(browser, {"width": 1280, "height": 800})
        to_first_mushra_trial(page, srv.url)
        assert page.locator("#keys-help").is_visible()
        grid = page.locator(".rating-scroll")
        assert grid.evaluate("(e) => e.scrollWidth <= e.clientWidth")  # the grid fits its box
        right = grid.bounding_box()["x"] + grid.bounding_box()["width"]
        for b in page.locator(".col .stim").all():
            assert b.bounding_box()["x"] + b.bounding_box()["width"] <= right + 0.5
        for label in page.locator(".bands span").all():  # "Excellent", not "xcellent"
            assert label.evaluate("(e) => e.scrollWidth <= e.clientWidth && e.getBoundingClientRect().left >= 0")
        box = page.locator("#next").bounding_box()
        assert box["y"] + box["height"] <= 800  # "Next" in view without scrolling
        page.mouse.wheel(0, 400)
        page.wait_for_timeout(200)
        box = page.locator("#next").bounding_box()
        assert box["y"] + box["height"] <= 800
        assert not errors, errors


def test_failed_headphone_check_is_shown_as_failed_and_ends_the_session(browser, run_dir, tmp_path):
    from tests.test_listen_p808 import QUIETEST_JS

    build_test(BuildOptions(run_dir=run_dir, out=tmp_path, type="mos", items=1, seconds=0.6, headphone_check=True))
    server, _ = serve(tmp_path)
    with server as srv:
        page, errors = new_page(browser, {"width": 390, "height": 844})
        page.goto(srv.url + "/")
        page.check("#consent")
        page.click("#start")
        page.locator("#headphone-check").wait_for()
        page.click("#level-play")
        for _ in range(6):  # over loudspeakers the antiphase tone sounds quietest: every answer is wrong
            page.click("#hp-play")
            page.click(f"#hp-{page.evaluate(QUIETEST_JS, 'loudspeakers')}")
        page.locator("#screened-out").wait_for()
        text = page.locator("main").inner_text()
        assert "not passed" in text and "0 times out of 6; 5 are needed" in text and "✓" not in text
        pid = page.url.rsplit("/", 1)[1]
        page.reload()  # the session link says the same from now on
        page.locator("#screened-out").wait_for()
        with httpx.Client(base_url=srv.url) as c:
            r = c.post(f"/api/sessions/{pid}/progress", json={"step": "level"})
            assert r.status_code == 409 and "headphone check was not passed" in r.json()["error"]
            admin = c.get("/admin", params={"token": "tok" * 8}).text
        assert "session ended: failed the headphone check (0 of 6 correct, 5 needed)" in admin
        assert "no ratings yet" not in admin.split('id="participants"')[1].split("</table>")[0]
        assert '<meta name="viewport"' in admin
        assert not errors, errors


def ratings_of(definition: TestDefinition, assessor: str, time_ms: int) -> list[Rating]:
    return [Rating(assessor, t.id, t.item, system, score_of(system), time_ms) for t in definition.trials
            for system in (definition.item(t.item).stimulus(s).system for s in t.stimuli)]


def score_of(system: str) -> float:
    return 100.0 if system == "reference" else 50.0


def test_implausibly_fast_trials_are_screened_out_and_shown_to_the_admin(run_dir, tmp_path):
    build_test(BuildOptions(run_dir=run_dir, out=tmp_path, type="mushra", items=2, seconds=2.0))
    definition = TestDefinition.load(tmp_path)
    bounds = min_trial_ms(definition)
    assert set(bounds) == {t.id for t in definition.trials}
    n, d = len(definition.trials[0].stimuli), definition.items[0].duration_s  # 5 conditions + the reference
    assert bounds[definition.items[0].id] == pytest.approx(1000 * (n + 1) * min(d, 2.0))
    ratings = ratings_of(definition, "hasty", 3200) + ratings_of(definition, "careful", 90_000)
    outcome = screen(get_test_type("mushra"), ratings, {}, bounds)
    assert "hasty" in outcome.excluded and "careful" in outcome.kept
    assert "2 of 2 trials faster than their audio" in outcome.excluded["hasty"]
    analysis = analyse(ratings, "mushra", tmp_path / "analysis", checks={}, min_trial_ms=bounds)
    assert analysis.n_kept == 1
    storage = open_storage(None, tmp_path)
    for who, ms in (("hasty", 3200), ("careful", 90_000)):
        storage.create_participant(who * 4)
        for t in definition.trials:
            systems = [definition.item(t.item).stimulus(s).system for s in t.stimuli]
            rows = [TrialRating(s, system, score_of(system)) for s, system in zip(t.stimuli, systems, strict=True)]
            storage.submit_trial(who * 4, t.id, t.item, "k" + t.id, rows, ms, "")
    page = admin_page(definition, storage, "tok")
    assert "excluded: answered 2 of 2 trials faster" in page
    assert "<td>3.2 / 3.2</td>" in page and "<td>90.0 / 90.0</td>" in page  # median / fastest trial time
    means = page.split('id="condition-means"')[1]
    assert "<td>reference</td><td>4</td><td>100.00 ± 0.00</td>" in means
    # the panel so far, against the 20 assessors BS.1534-3 expects
    panel = page.split('id="panel"')[1].split("</p>")[0]
    assert 'class="warning"' in panel and "1 assessor kept by the screening so far." in panel
    assert "1 assessor: below the 20 that ITU-R BS.1534-3 (§4) expects" in panel
