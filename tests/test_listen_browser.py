"""Headless Chromium (system binary, via Playwright) through a whole MUSHRA and a whole MOS test
against the real server and SQLite: what is entered is what is stored, audio runs at 48 kHz."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from listening_test.build import BuildOptions, build_test
from listening_test.definition import TestDefinition
from listening_test.server import create_app
from listening_test.storage import open_storage
from tests.listen_util import ServerThread, fill_answers, make_run_folder


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return make_run_folder(tmp_path_factory.mktemp("run"), n_utts=3, seconds=1.0)


def serve(test_dir: Path):
    definition = TestDefinition.load(test_dir)
    return ServerThread(create_app(test_dir, definition, open_storage(None, test_dir), "tok" * 8)), definition


def new_page(browser, viewport: dict | None = None):
    page = browser.new_page(viewport=viewport) if viewport else browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def play_all(page) -> None:
    """Play every sample; on play-once pages (ACR, pairs) each to its end, as they must be heard."""
    for button in page.locator("button.stim").all():
        if "played" in (button.get_attribute("class") or ""):
            continue
        button.click()
        page.wait_for_timeout(30)
        page.locator(f'button.stim.played[data-stimulus="{button.get_attribute("data-stimulus")}"]').wait_for()


def start_session(page, url: str) -> str:
    page.goto(url + "/")
    page.locator("#start").wait_for()
    assert page.locator("#start").is_disabled()
    page.check("#consent")
    page.click("#start")
    page.locator("#level-play").wait_for()
    assert page.evaluate("document.body.dataset.audioRate") == "48000"
    assert page.locator("#rate-warning").is_hidden()
    page.click("#level-play")
    page.click("#level-ok")
    return page.url.rsplit("/", 1)[1]


def start_trials(page, url: str) -> str:
    """Start a session and pass its training page (every sample played); returns the participant id."""
    pid = start_session(page, url)
    page.get_by_role("heading", name="Training").wait_for()
    play_all(page)
    page.click("#next")
    return pid


def artifacts_dir(tmp_path: Path) -> Path:
    """Where screenshots are kept: ``$LISTEN_TEST_ARTIFACTS`` (CI uploads it) or the test's tmp folder."""
    folder = Path(os.environ.get("LISTEN_TEST_ARTIFACTS") or tmp_path / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def rate_with_keys(page, index: int, value: int) -> None:
    """Select condition ``index`` with its number key, then set its slider with Home/PageUp/ArrowUp."""
    page.keyboard.press(str(index + 1))
    page.keyboard.press("Home")
    for _ in range(value // 10):
        page.keyboard.press("PageUp")
    for _ in range(value % 10):
        page.keyboard.press("ArrowUp")


def drag(page, box: dict, x0: float, x1: float) -> None:
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + x0 * box["width"], y)
    page.mouse.down()
    for k in range(1, 6):
        page.mouse.move(box["x"] + (x0 + (x1 - x0) * k / 5) * box["width"], y)
    page.mouse.up()


def mushra_trial(page, n: int, total: int, definition, entered: dict, shots: Path | None, width: int) -> None:
    """Drive one MUSHRA trial with the keyboard (and the loop region with the mouse) and record the ratings."""
    page.get_by_role("heading", name=f"Trial {n} of {total}").wait_for()
    assert f"Trial {n} of {total}" in page.locator("#progress").inner_text()
    sliders = page.locator(".vslider")
    sids = [s.get_attribute("data-stimulus") for s in sliders.all()]
    assert len(sids) == 5
    assert all(s.get_attribute("aria-valuetext") == "not rated" for s in sliders.all())  # nothing stored as 0
    assert page.locator(".value", has_text="not rated").count() == 5
    assert page.locator(".col .stim").first.inner_text() == "Reference"  # the reference comes first
    assert "Space play/pause" in page.locator("#keys-help").inner_text()
    assert page.locator("#next").is_disabled()
    box = page.locator("#wave").bounding_box()
    duration = definition.item(definition.trial(next(t.id for t in definition.trials if set(t.stimuli) == set(sids))).item).duration_s
    drag(page, box, 0.2, 0.7)  # draw a loop region on the waveform
    lo, hi = float(page.input_value("#loop-start")), float(page.input_value("#loop-end"))
    assert lo == pytest.approx(0.2 * duration, abs=0.03) and hi == pytest.approx(0.7 * duration, abs=0.03)
    drag(page, box, 0.7, 0.55)  # pull its end edge left
    assert float(page.input_value("#loop-end")) == pytest.approx(0.55 * duration, abs=0.03)
    assert float(page.input_value("#loop-start")) == pytest.approx(lo, abs=1e-6)
    drag(page, box, 0.4, 0.42)  # a too-short region is widened to 500 ms
    lo2, hi2 = float(page.input_value("#loop-start")), float(page.input_value("#loop-end"))
    assert hi2 - lo2 == pytest.approx(0.5, abs=0.011)
    page.keyboard.press("r")
    assert "active" in page.locator('button.stim[data-stimulus="ref"]').get_attribute("class")
    page.wait_for_timeout(150)
    cursor = page.locator("#wave .cursor").evaluate("(el) => parseFloat(el.style.left)")
    assert 100 * lo2 / duration - 1 <= cursor <= 100 * hi2 / duration + 1  # playing inside the loop region
    page.keyboard.press(" ")  # Space stops
    assert page.locator("button.stim.active").count() == 0
    trial_id = next(t.id for t in definition.trials if set(t.stimuli) == set(sids))
    top = page.locator(f'.vslider[data-stimulus="{sids[0]}"]').bounding_box()  # vertical, or horizontal on a phone
    top_end = {"x": 14, "y": 1} if top["height"] > top["width"] else {"x": top["width"] - 1, "y": 14}
    page.locator(f'.vslider[data-stimulus="{sids[0]}"]').click(position=top_end)  # a click rates too
    assert int(page.locator(f'.vslider[data-stimulus="{sids[0]}"]').get_attribute("aria-valuenow")) >= 98
    for i, sid in enumerate(sids):
        if i < 4:
            assert page.locator("#next").is_disabled()  # not every condition rated (and played) yet
        value = (17 * n + 23 * i) % 101
        rate_with_keys(page, i, value)
        assert page.locator(f'.vslider[data-stimulus="{sid}"]').get_attribute("aria-valuenow") == str(value)
        entered[(trial_id, sid)] = value
    page.keyboard.press(" ")
    page.fill("#comment", f"trial {n} <b>ok</b>")
    assert page.locator("#next").is_enabled()
    if shots is not None:
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # no page overflow
        page.screenshot(path=str(shots / f"mushra_{width}.png"), full_page=True)
    page.click("#next")


def test_whole_mushra_test_with_keyboard_and_loop_dragging(browser, tmp_path):
    run_dir = make_run_folder(tmp_path / "run", n_utts=3, seconds=3.0)  # items long enough to loop a part
    build_test(BuildOptions(run_dir=run_dir, out=tmp_path, type="mushra", items=2, seconds=3.0))
    server, definition = serve(tmp_path)
    shots = artifacts_dir(tmp_path)
    entered: dict[tuple[str, str], int] = {}
    with server as srv:
        page, errors = new_page(browser, {"width": 1280, "height": 800})
        pid = start_session(page, srv.url)
        assert page.locator("#small-screen").is_hidden()
        page.get_by_role("heading", name="Training").wait_for()
        page.locator("button.stim").first.wait_for()
        assert "null" not in page.locator("main").inner_text()
        play_all(page)
        page.click("#next")
        mushra_trial(page, 1, 2, definition, entered, shots, 1280)
        page.get_by_role("heading", name="Trial 2 of 2").wait_for()
        page.close()
        # the same session on a phone: resumes at trial 2, says a computer is better, and stays usable
        phone, phone_errors = new_page(browser, {"width": 390, "height": 844})
        phone.goto(f"{srv.url}/s/{pid}")
        phone.locator("#small-screen").wait_for()
        assert "computer" in phone.locator("#small-screen").inner_text()
        mushra_trial(phone, 2, 2, definition, entered, shots, 390)
        phone.get_by_role("heading", name="A few questions").wait_for()
        fill_answers(phone)
        phone.click("#submit-questionnaire")
        phone.locator("#done").wait_for()
        assert not errors and not phone_errors, errors + phone_errors
    with sqlite3.connect(tmp_path / "results.sqlite") as conn:
        stored = {(t, s): v for t, s, v in conn.execute("SELECT trial, stimulus, score FROM ratings")}
        comments = sorted(r[0] for r in conn.execute("SELECT comment FROM submissions"))
        answers = conn.execute("SELECT questionnaire, audio_rate FROM participants WHERE id = ?", (pid,)).fetchone()
    assert stored == {k: float(v) for k, v in entered.items()}
    assert comments == ["trial 1 <b>ok</b>", "trial 2 <b>ok</b>"]
    assert '"age": "31"' in answers[0] and answers[1] == 48000
    for width in (1280, 390):
        assert (shots / f"mushra_{width}.png").stat().st_size > 10_000


def test_crowd_worker_entry_and_exit_in_german(browser, run_dir, tmp_path):
    build_test(BuildOptions(run_dir=run_dir, out=tmp_path, type="mos", items=1, seconds=0.6, lang="de",
                            participant_param="PROLIFIC_PID", completion_code="C0DE42",
                            completion_url="https://app.prolific.com/submissions/complete?cc=C0DE42"))
    server, definition = serve(tmp_path)
    with server as srv:
        page, errors = new_page(browser)
        page.goto(srv.url + "/?PROLIFIC_PID=5f3a9c&STUDY_ID=x")
        page.locator("#start").wait_for()
        assert "Kopfhörer" in page.locator("main").inner_text() and page.evaluate("document.documentElement.lang") == "de"
        page.check("#consent")
        page.click("#start")
        page.get_by_role("heading", name="Lautstärke einstellen").wait_for()
        page.click("#level-play")
        page.click("#level-ok")
        page.get_by_role("heading", name="Einführung").wait_for()
        play_all(page)
        page.click("#next")
        for n in range(1, len(definition.trials) + 1):
            page.get_by_role("heading", name=f"Durchgang {n} von {len(definition.trials)}").wait_for()
            page.locator("button.stim").click()
            page.locator("input[name=acr][value='3']").check()
            page.click("#next")
        page.get_by_role("heading", name="Einige Fragen").wait_for()
        fill_answers(page)
        page.click("#submit-questionnaire")
        page.locator("#done").wait_for()
        assert "C0DE42" in page.locator("#completion-code").inner_text()
        assert page.locator("#completion-link").get_attribute("href").endswith("cc=C0DE42")
        assert not errors, errors
    with sqlite3.connect(tmp_path / "results.sqlite") as conn:
        assert conn.execute("SELECT external_id FROM participants").fetchall() == [("5f3a9c",)]


def test_whole_mos_test(browser, run_dir, tmp_path):
    build_test(BuildOptions(run_dir=run_dir, out=tmp_path, type="mos", items=2, seconds=0.6))
    server, definition = serve(tmp_path)
    entered: dict[str, int] = {}
    with server as srv:
        page, errors = new_page(browser)
        start_trials(page, srv.url)
        total = len(definition.trials)
        assert total == 6
        for n in range(1, total + 1):
            page.get_by_role("heading", name=f"Trial {n} of {total}").wait_for()
            sid = page.locator("button.stim").get_attribute("data-stimulus")
            score = 1 + (n * 2) % 5
            page.locator(f"input[name=acr][value='{score}']").check()
            assert page.locator("#next").is_disabled()  # must be played first
            page.locator("button.stim").click()
            page.click("#next")
            trial = next(t.id for t in definition.trials if t.stimuli == [sid])
            entered[trial] = score
        page.get_by_role("heading", name="A few questions").wait_for()
        fill_answers(page)
        page.click("#submit-questionnaire")
        page.locator("#done").wait_for()
        assert not errors, errors
    with sqlite3.connect(tmp_path / "results.sqlite") as conn:
        stored = {t: v for t, v in conn.execute("SELECT trial, score FROM ratings")}
    assert stored == {k: float(v) for k, v in entered.items()}


SWITCH_JS = """
async () => {
  const ctx = new OfflineAudioContext(1, 48000, 48000);
  const constant = (v) => { const b = ctx.createBuffer(1, 96000, 48000); b.getChannelData(0).fill(v); return b; };
  const player = new window.ListeningTestPlayer(ctx, {a: constant(1.0), b: constant(0.5)}, () => {});
  player.play("a");
  ctx.suspend(0.5).then(() => { player.play("b"); ctx.resume(); });
  const out = await ctx.startRendering();
  return Array.from(out.getChannelData(0));
}
"""


def test_switching_fades_out_then_in_with_5ms_raised_cosines(browser, run_dir, tmp_path):
    build_test(BuildOptions(run_dir=run_dir, out=tmp_path, type="mushra", items=1, seconds=0.8))
    server, _ = serve(tmp_path)
    with server as srv:
        page, errors = new_page(browser)
        page.goto(srv.url + "/")
        page.locator("#start").wait_for()
        y = np.array(page.evaluate(SWITCH_JS))
        assert not errors, errors
    n = 240  # 5 ms at 48 kHz
    start = 480  # playback starts 10 ms after the call, with a fade-in from zero
    assert np.all(y[:start + 1] == 0) and y[start + 2] > 0
    ramp = y[start:start + n]
    expected = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)
    assert np.max(np.abs(ramp - expected)) < 0.03 and np.all(np.diff(ramp) >= -1e-6)
    assert np.allclose(y[start + n + 1:24000], 1.0, atol=1e-6)
    s0 = 24000 + int(np.argmax(y[24000:] < 1 - 1e-6)) - 1  # last sample of "a" at full level
    fade_out = y[s0:s0 + n + 1]
    assert np.all(np.diff(fade_out) <= 1e-6) and fade_out[n // 2] == pytest.approx(0.5, abs=0.03)
    assert abs(y[s0 + n]) < 1e-3  # down to silence before "b" starts: no cross-fade
    fade_in = y[s0 + n:s0 + 2 * n + 1]
    assert np.all(np.diff(fade_in) >= -1e-6) and fade_in[n // 2] == pytest.approx(0.25, abs=0.03)
    assert np.allclose(y[s0 + 2 * n + 10:s0 + 2 * n + 4800], 0.5, atol=1e-6)


def test_warns_visibly_when_the_browser_cannot_play_at_48k(browser, run_dir, tmp_path):
    build_test(BuildOptions(run_dir=run_dir, out=tmp_path, type="mos", items=1, seconds=0.6))
    server, _ = serve(tmp_path)
    with server as srv:
        page, errors = new_page(browser)
        # a browser whose audio device forces 44.1 kHz whatever the page asks for
        page.add_init_script("""(() => { const Native = window.AudioContext;
            window.AudioContext = function () { return new Native({sampleRate: 44100}); }; })();""")
        page.goto(srv.url + "/")
        page.check("#consent")
        page.click("#start")
        page.locator("#level-play").wait_for()
        warning = page.locator("#rate-warning")
        assert warning.is_visible() and "44100 Hz instead of 48000 Hz" in warning.inner_text()
        page.click("#level-play")
        page.click("#level-ok")
        page.get_by_role("heading", name="Training").wait_for()
        assert not errors, errors
    with sqlite3.connect(tmp_path / "results.sqlite") as conn:
        assert conn.execute("SELECT audio_rate FROM participants").fetchone()[0] == 44100
