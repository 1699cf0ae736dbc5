"""The demo page as a listener uses it, in headless Chromium: one player at a time, A/B switching that keeps
the position, enlargeable spectrograms, per-utterance metrics equal to results.csv, anchors hidden unless
asked for, transcripts, a title/intro/links from a config file; both pages fit 1280 px and 390 px widths
without horizontal scrolling and log no console errors. Screenshots are kept (BENCH_ARTIFACTS=1)."""

from __future__ import annotations

import csv
import functools
import http.server
import math
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.cli import main

try:
    from test_reports_fixtures import make_run
    from test_reports_pages import WAIT_AUDIO, _QuietHandler, _screenshot
except ImportError:  # tests/ imported as a package
    from tests.test_reports_fixtures import make_run
    from tests.test_reports_pages import WAIT_AUDIO, _QuietHandler, _screenshot

CONFIG = """title: Codec samples for the paper
intro: |
  Speech coded by four test doubles.

  Second paragraph.
links:
  - {text: Paper, url: "https://example.org/paper.pdf"}
  - {text: Code, url: "../code/"}
"""


@pytest.fixture(scope="module")
def site(shared_run) -> Path:
    """One folder served over HTTP: run/report (defaults) and flagged/ (anchors asked for, config file)."""
    def build(base: Path) -> None:
        run = make_run(base / "run", failing=True, anchors=True, seconds=1.5)
        assert main(["report", str(run)]) == 0
        (base / "demo.yaml").write_text(CONFIG)
        assert main(["report", str(run), "--out", str(base / "flagged"), "--demo-config", str(base / "demo.yaml"),
                     "--demo-systems", "lowpass,anchor35,anchor70,natural", "--demo-utterances", "p225/p225_001"]) == 0

    return shared_run("demo_page_site", build)


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def page(browser: object, server: str) -> Iterator[object]:
    pg = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    pg.goto(f"{server}/run/report/demo/index.html", wait_until="load")
    pg.evaluate(WAIT_AUDIO)
    yield pg
    pg.close()
    assert not errors, errors


PLAYING = "() => [...document.querySelectorAll('audio')].filter(a => !a.paused).map(a => a.getAttribute('src'))"


def test_only_one_player_plays_at_a_time(page: object) -> None:
    srcs = page.evaluate("""async () => {
      const audios = [...document.querySelectorAll('audio')];
      for (const i of [0, 3, audios.length - 1]) { await audios[i].play(); await new Promise(r => setTimeout(r, 150)); }
      const last = audios[audios.length - 1];
      for (let k = 0; k < 40 && last.currentTime < 0.05; k++) await new Promise(r => setTimeout(r, 50));
      return [audios[0].paused, audios[3].paused, last.paused, last.currentTime];
    }""")
    assert srcs[:3] == [True, True, False]
    assert srcs[3] > 0.05  # it really plays
    assert len(page.evaluate(PLAYING)) == 1


SWITCH = """async (keyOrButton) => {
  const sec = document.querySelector('section.utt');
  const audios = [...sec.querySelectorAll('audio')];
  const [a, b] = [audios[0], audios[2]];
  await a.play();
  for (let k = 0; k < 60 && a.currentTime < 0.3; k++) await new Promise(r => setTimeout(r, 50));
  const seeked = new Promise(r => b.addEventListener('seeked', () => r(b.currentTime), {once: true}));
  if (keyOrButton === 'button') b.closest('.player').querySelector('button.ab').click();
  else document.dispatchEvent(new KeyboardEvent('keydown', {key: '3', bubbles: true}));
  const from = a.currentTime;
  const to = await seeked;
  for (let k = 0; k < 40 && b.currentTime < to + 0.05; k++) await new Promise(r => setTimeout(r, 50));
  return {from, to, aPaused: a.paused, bPaused: b.paused, bLater: b.currentTime};
}"""


@pytest.mark.parametrize("how", ["button", "key"])
def test_ab_switch_keeps_the_position(page: object, how: str) -> None:
    r = page.evaluate(SWITCH, how)
    assert r["from"] > 0.2  # A played for a while
    assert abs(r["to"] - r["from"]) <= 0.010, r
    assert r["aPaused"] and not r["bPaused"] and r["bLater"] > r["to"]  # B goes on playing from there


def test_ab_switch_while_paused_cues_the_same_position(page: object) -> None:
    r = page.evaluate("""async () => {
      const audios = [...document.querySelectorAll('section.utt')[1].querySelectorAll('audio')];
      await audios[1].play();
      for (let k = 0; k < 60 && audios[1].currentTime < 0.3; k++) await new Promise(r => setTimeout(r, 50));
      audios[1].pause();
      const seeked = new Promise(r => audios[0].addEventListener('seeked', r, {once: true}));
      document.dispatchEvent(new KeyboardEvent('keydown', {key: '1', bubbles: true}));
      await seeked;
      return [audios[1].currentTime, audios[0].currentTime, audios[0].paused,
              audios[0].closest('.player').classList.contains('current')];
    }""")
    assert r[0] > 0.2 and abs(r[1] - r[0]) <= 0.010, r
    assert r[2] and r[3]  # cued, not playing, and the current player


def test_spectrograms_enlarge_on_click(page: object) -> None:
    thumb = page.locator("img.thumb").nth(1)
    shown_width = thumb.evaluate("i => i.clientWidth")
    thumb.click()
    box = page.locator("#lightbox")
    assert box.is_visible()
    big = page.locator("#lightbox img")
    big.evaluate("i => i.complete || new Promise(r => i.addEventListener('load', r, {once: true}))")
    assert big.get_attribute("src") == thumb.get_attribute("src")
    assert big.evaluate("i => i.clientWidth") > 1.5 * shown_width
    page.keyboard.press("Escape")
    assert not box.is_visible()
    page.locator("button.grid-btn").first.click()
    assert box.is_visible() and "_grids/" in big.get_attribute("src")
    big.evaluate("i => i.complete || new Promise(r => i.addEventListener('load', r, {once: true}))")
    assert big.evaluate("i => i.naturalHeight") > 800  # reference + 5 rows on one colour scale
    box.click()
    assert not box.is_visible()


def test_per_utterance_metrics_equal_results_csv(page: object, site: Path) -> None:
    with (site / "run" / "results.csv").open(newline="") as fh:
        results = {(r["utterance"], r["system"], r["metric"]): r for r in csv.DictReader(fh)}
    cells = page.evaluate("""() => [...document.querySelectorAll('dd[data-metric]')].map(d => ({
        utt: d.closest('section').dataset.utt, system: d.closest('.player').dataset.system,
        metric: d.dataset.metric, value: d.dataset.value, text: d.textContent}))""")
    assert {c["metric"] for c in cells} == {"si_sdr", "bitrate_kbps"}
    assert len([c for c in cells if c["metric"] == "si_sdr"]) == 6 * 4  # 4 systems shown per utterance
    for c in cells:
        row = results[(c["utt"], c["system"], c["metric"])]
        want = float(row["value"])
        if math.isnan(want):
            assert c["text"] == "failed" and math.isnan(float(c["value"]))
            continue
        assert float(c["value"]) == want
        shown = float(c["text"].split()[0])
        assert abs(shown - want) <= 0.5 * 10 ** -len(c["text"].split()[0].split(".")[1]) + 1e-9, c


def test_anchors_and_natural_hidden_by_default_shown_when_asked(page: object, server: str, site: Path) -> None:
    systems = page.evaluate("() => [...new Set([...document.querySelectorAll('.player')].map(p => p.dataset.system))]")
    assert systems == ["reference", "lowpass", "delayed", "noisy", "broken_sys"]
    header = page.locator("section.utt h2").first.inner_text()
    assert "p225" in header and "female" in header
    assert page.locator("section.utt .transcript").first.inner_text() == "“Sentence 1 of speaker p225.”"
    page.goto(f"{server}/flagged/demo/index.html", wait_until="load")
    page.evaluate(WAIT_AUDIO)
    systems = page.evaluate("() => [...document.querySelectorAll('.player')].map(p => p.dataset.system)")
    assert systems == ["reference", "lowpass", "anchor35", "anchor70", "natural"]
    assert page.title() == "Codec samples for the paper"
    assert [p.inner_text() for p in page.locator("p.intro").all()] == ["Speech coded by four test doubles.",
                                                                        "Second paragraph."]
    assert page.locator("ul.links a").evaluate_all("as => as.map(a => [a.textContent, a.getAttribute('href')])") == [
        ["Paper", "https://example.org/paper.pdf"], ["Code", "../code/"]]


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("page_path", ["run/report/demo/index.html", "run/report/index.html"])
def test_no_horizontal_scroll(browser: object, server: str, tmp_path: Path, width: int, page_path: str) -> None:
    pg = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(f"{server}/{page_path}", wait_until="load")
    pg.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")  # the widest state
    pg.wait_for_timeout(200)
    scroll, client = pg.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    name = page_path.split("/")[-2] if page_path.endswith("demo/index.html") else "report"
    _screenshot(pg, tmp_path, f"reports_{name}_{width}px.png")
    pg.close()
    assert scroll <= client, (page_path, width, scroll, client)
    assert not errors, errors


def test_keys_work_after_a_mouse_click_on_a_native_player(page: object) -> None:
    first = page.locator("section.utt").first.locator("audio").first
    box = first.bounding_box()
    page.mouse.click(box["x"] + 15, box["y"] + box["height"] / 2)  # the native play button
    page.wait_for_function("() => !document.querySelector('section.utt audio').paused")
    page.keyboard.press("3")
    page.wait_for_function("() => document.querySelector('section.utt').querySelectorAll('audio')[2]"
                           ".closest('.player').classList.contains('current')")
    page.keyboard.press("j")
    page.wait_for_function("() => document.querySelectorAll('section.utt')[1].querySelector('.player.current')")


def test_a_player_paused_before_its_play_event_does_not_become_current(page: object) -> None:
    """A key (j/k, another system) that pauses a player whose play() has not yet fired its event: the stale
    event must not take the current mark back (under load, j after an A/B switch left the old row current)."""
    page.keyboard.press("j")
    page.wait_for_function("() => document.querySelectorAll('section.utt')[1].querySelector('.player.current')")
    stale = page.evaluate("""async () => {
      const a = document.querySelectorAll('section.utt')[0].querySelectorAll('audio')[2];
      a.play().catch(() => {}); a.pause();  // both before the play event runs
      await new Promise((r) => setTimeout(r, 300));
      return [a.closest('.player').classList.contains('current'), document.querySelectorAll('.player.current').length,
              !!document.querySelectorAll('section.utt')[1].querySelector('.player.current')];
    }""")
    assert stale == [False, 1, True]


def test_a_key_pressed_before_the_play_event_ran_switches_from_the_playing_player(page: object) -> None:
    """A player has started (not paused) but its play event, which marks it current, has not run yet (a busy
    machine) when "3" is pressed: the switch continues from the playing player, and the late event does not
    take the mark back (under load, the A/B switch right after a click on a native player was lost)."""
    state = page.evaluate("""async () => {
      const players = document.querySelector('section.utt').querySelectorAll('audio');
      players[0].play().catch(() => {});  // its play event is queued, not run
      document.dispatchEvent(new KeyboardEvent('keydown', {key: '3', bubbles: true}));
      await new Promise((r) => setTimeout(r, 500));
      return [players[2].closest('.player').classList.contains('current'), players[0].paused,
              document.querySelectorAll('.player.current').length];
    }""")
    assert state == [True, True, 1]


def test_players_and_ab_buttons_have_accessible_names_and_a_way_back(page: object) -> None:
    sec = page.locator("section.utt").first
    utt = sec.get_attribute("data-utt")
    for player in sec.locator(".player").all():
        system = player.get_attribute("data-label")  # the display name (reports.display)
        assert player.locator(".name").inner_text() == system
        if player.locator("audio").count():
            assert player.locator("audio").get_attribute("aria-label") == f"{system}, {utt}"
            assert player.locator("button.ab").get_attribute("aria-label") == f"continue on {system} at the same position"
    back = page.locator("a#back-to-report")
    assert back.get_attribute("href") == "../index.html"
    page.locator("#hide-spectrograms").check()
    assert page.locator("img.thumb").first.is_hidden()
    page.locator("#hide-spectrograms").uncheck()
    assert page.locator("img.thumb").first.is_visible()


def test_blind_mode_hides_and_shuffles_the_systems_until_revealed(page: object) -> None:
    sec = page.locator("section.utt").first
    systems = [p.get_attribute("data-system") for p in sec.locator(".player").all()]
    page.locator("#blind").check()
    shown = [p.get_attribute("data-system") for p in sec.locator(".player").all()]
    assert shown[0] == "reference" and sorted(shown) == sorted(systems)  # a permutation, the reference first
    for k, player in enumerate(sec.locator(".player").all()[1:], start=1):
        assert player.locator(".name").is_hidden() and player.locator(".blind-name").inner_text() == f"sample {k}"
        assert player.locator("img.thumb").is_hidden() or not player.locator("img.thumb").count()
        label = player.locator("audio").get_attribute("aria-label") if player.locator("audio").count() else ""
        assert all(s not in label for s in systems if s != "reference")
    assert [k.inner_text() for k in sec.locator(".player .key").all()] == [str(i) for i in range(1, len(shown) + 1)]
    page.keyboard.press("2")  # the second card as shown, whatever system it is
    page.wait_for_function("() => document.querySelector('section.utt .players').children[1].classList.contains('current')")
    page.locator("#reveal").click()
    assert all(p.locator(".name").is_visible() for p in sec.locator(".player").all())


def _fresh(browser: object, server: str, width: int, height: int) -> tuple[object, list[str]]:
    """A new page (its own context: nothing remembered) of the default demo page at ``width`` x ``height``."""
    pg = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(f"{server}/run/report/demo/index.html", wait_until="load")
    pg.evaluate(WAIT_AUDIO)
    return pg, errors


def _grid_view(pg: object) -> None:
    if not pg.locator("#grid-toggle").is_checked():
        pg.locator("#grid-toggle").check()
    assert pg.locator("#listen-grid").is_visible() and pg.locator("main").is_hidden()


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_grid_view_has_every_system_x_utterance_cell_and_plays_one_at_a_time(browser: object, server: str,
                                                                              tmp_path: Path, width: int,
                                                                              height: int) -> None:
    pg, errors = _fresh(browser, server, width, height)
    assert pg.locator("#grid-toggle").is_checked() is (width < 700)  # the grid is the default on a phone
    _grid_view(pg)
    cards = pg.evaluate("""() => [...document.querySelectorAll('section.utt')].map(s => ({utt: s.dataset.utt,
      players: [...s.querySelectorAll('.player')].map(p => [p.dataset.system, !!p.querySelector('audio'), p.dataset.label])}))""")
    grid = pg.evaluate("""() => ({head: [...document.querySelectorAll('#listen-grid thead th')].map(t => t.textContent),
      rows: [...document.querySelectorAll('#listen-grid tbody tr')].map(r => ({utt: r.dataset.utt,
        cells: [...r.querySelectorAll('td')].map(td => { const b = td.querySelector('button.play-cell');
          return b ? [b.dataset.system, true, b.getAttribute('aria-label')] : [null, false, td.textContent]; })}))})""")
    assert grid["head"] == ["utterance", *[label for _, _, label in cards[0]["players"]]]  # display names
    assert [r["utt"] for r in grid["rows"]] == [c["utt"] for c in cards] and len(cards) >= 2
    for row, card in zip(grid["rows"], cards, strict=True):
        assert [(s, has) for s, has, _ in row["cells"] if has] == [(s, True) for s, has, _ in card["players"] if has]
        assert len(row["cells"]) == len(card["players"])  # a cell for every system, "–" where audio is missing
        shown = {s: label for s, _, label in card["players"]}
        assert all(label == f"play {shown[s]}, {row['utt']}" for s, has, label in row["cells"] if has)
    assert any(not has for r in grid["rows"] for _, has, _ in r["cells"])  # the failing system's missing audio
    buttons = pg.locator("#listen-grid tbody tr")
    first, other = buttons.nth(0).locator("button.play-cell").nth(0), buttons.nth(1).locator("button.play-cell").nth(2)
    first.click()
    pg.wait_for_function("() => document.querySelectorAll('#listen-grid button.play-cell.playing').length === 1")
    other.click()
    pg.wait_for_function("() => { const b = document.querySelectorAll('#listen-grid tbody tr')[1]"
                         ".querySelectorAll('button.play-cell')[2]; return b.classList.contains('playing'); }")
    assert len(pg.evaluate(PLAYING)) == 1 and "playing" not in (first.get_attribute("class") or "")
    other.click()  # again: pauses
    pg.wait_for_function("() => !document.querySelector('#listen-grid button.play-cell.playing')")
    assert pg.evaluate(PLAYING) == []
    # the page never scrolls sideways: a wide grid scrolls inside its own box
    scroll, client = pg.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    right = pg.evaluate("() => document.querySelector('#grid-view .grid-scroll').getBoundingClientRect().right")
    _screenshot(pg, tmp_path, f"reports_demo_grid_{width}px.png")
    pg.close()
    assert scroll <= client and right <= width, (scroll, client, right)
    assert not errors, errors


def test_keys_and_ab_work_in_the_grid_view(browser: object, server: str) -> None:
    pg, errors = _fresh(browser, server, 1280, 800)
    _grid_view(pg)
    row = pg.locator("#listen-grid tbody tr").nth(0)
    row.locator("button.play-cell").nth(0).click()  # a mouse click, then the keys
    pg.wait_for_function("() => { const a = document.querySelector('section.utt audio'); return !a.paused && a.currentTime > 0.1; }")
    pg.keyboard.press("3")  # A/B: the third system of this utterance, at the same position
    pg.wait_for_function("() => document.querySelector('#listen-grid tbody tr').querySelectorAll('button.play-cell')[2]"
                         ".classList.contains('playing')")
    times = pg.evaluate("() => [...document.querySelector('section.utt').querySelectorAll('audio')].map(a => [a.paused, a.currentTime])")
    assert times[0][0] and not times[2][0] and times[2][1] >= times[0][1] - 0.01 and times[2][1] > 0.1
    pg.keyboard.press(" ")
    pg.wait_for_function("() => !document.querySelector('#listen-grid button.play-cell.playing')")
    pg.keyboard.press("j")  # the next utterance's row becomes current
    pg.wait_for_function("() => document.querySelectorAll('#listen-grid tbody tr')[1].classList.contains('current-row')")
    pg.close()
    assert not errors, errors


def test_grid_view_hides_the_systems_in_blind_mode(browser: object, server: str) -> None:
    pg, errors = _fresh(browser, server, 1280, 800)
    players = pg.evaluate("() => [...document.querySelector('section.utt').querySelectorAll('.player')]"
                          ".map(p => [p.dataset.system, p.dataset.label])")
    systems, labels_of = [s for s, _ in players], dict(players)
    _grid_view(pg)
    pg.locator("#blind").check()
    head = pg.locator("#listen-grid thead th").all_inner_texts()
    assert head == ["utterance", labels_of["reference"], *[f"sample {k}" for k in range(1, len(systems))]]
    labels = pg.locator("#listen-grid button.play-cell").evaluate_all("bs => bs.map(b => b.getAttribute('aria-label') + b.title)")
    assert all(n not in label for label in labels for s in systems if s != "reference" for n in (s, labels_of[s]))
    pg.locator("#reveal").click()
    caps = pg.locator("#listen-grid tbody tr").nth(0).locator(".cap").all_inner_texts()
    assert sorted(caps) == sorted(labels_of[s] for s in systems if s != "reference")
    pg.close()
    assert not errors, errors


def test_the_view_choice_is_remembered(browser: object, server: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    url = f"{server}/run/report/demo/index.html"
    pg.goto(url)
    assert not pg.locator("#grid-toggle").is_checked() and pg.locator("#listen-grid").is_hidden()
    pg.locator("#grid-toggle").check()
    pg.reload()
    assert pg.locator("#grid-toggle").is_checked() and pg.locator("#listen-grid").is_visible()
    pg.set_viewport_size({"width": 390, "height": 844})  # a stored choice wins over the screen size
    pg.locator("#grid-toggle").uncheck()
    pg.reload()
    assert not pg.locator("#grid-toggle").is_checked() and pg.locator("section.utt").first.is_visible()
    context.close()


def test_the_phone_page_is_short(browser: object, server: str) -> None:
    """At 390x844 the page opens in the grid view: the header, one 2.4 rem row per utterance and the legend.
    Bound: three screens (844 px each), less than half the card view's height with spectrograms (the page
    of the 1.5 s fixture utterances; the `make demo` page, 4 utterances x 8 systems, went from 12,800 to 1,570 px)."""
    pg, errors = _fresh(browser, server, 390, 844)
    short = pg.evaluate("() => document.documentElement.scrollHeight")
    pg.locator("#grid-toggle").uncheck()
    pg.locator("#hide-spectrograms").uncheck()
    pg.wait_for_timeout(100)
    long = pg.evaluate("() => document.documentElement.scrollHeight")
    pg.close()
    assert short <= 3 * 844 and short < long / 2, (short, long)
    assert not errors, errors
