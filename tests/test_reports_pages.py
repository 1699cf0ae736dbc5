"""A run where a system failed on some items still yields every report, failures shown; the pages work
in headless Chromium (audio durations, images, no console errors) and link only to local files."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import soundfile as sf

from reports import build_report

try:
    from test_reports_fixtures import make_run
except ImportError:  # tests/ imported as a package
    from tests.test_reports_fixtures import make_run

@pytest.fixture(scope="module")
def run(shared_run) -> Path:
    return shared_run("failing_run", lambda root: build_report([make_run(root, failing=True)]))


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.links.append(value)


def test_every_report_is_written_and_failures_are_shown(run: Path) -> None:
    rep = run / "report"
    for name in ("summary.md", "summary.tex", "index.html", "demo/index.html"):
        assert (rep / name).is_file(), name
    for stem in ("bar_si_sdr", "box_si_sdr", "bar_lsd", "box_lsd", "bar_bitrate_kbps", "scatter_lsd_vs_si_sdr",
                 "waveform_p225_p225_001", "spectrograms/p226_p226_002"):
        for ext in ("png", "pdf"):
            path = rep / "plots" / f"{stem}.{ext}"
            assert path.is_file() and path.stat().st_size > 1000, path
    index = (rep / "index.html").read_text()
    # the NaN rows with their reasons, and the missing audio file, are listed
    assert "decoder crashed (synthetic failure)" in index
    assert "audio/broken_sys/p226/p226_002.wav: file missing" in index
    assert "lsd: synthetic failure" in index
    assert "Failures (0)" not in index
    md = (rep / "summary.md").read_text()
    assert "(n=5, 1 failed)" in md
    demo = (rep / "demo" / "index.html").read_text()
    assert "no audio (p226_002.wav missing or unreadable)" in demo
    assert not (rep / "demo" / "audio" / "broken_sys" / "p226" / "p226_002.wav").exists()
    # the balanced default: 2 utterances for each of the 3 speakers
    assert len(list((rep / "demo" / "audio" / "_reference").rglob("*.wav"))) == 6


def test_pages_link_only_to_local_files(run: Path) -> None:
    rep = run / "report"
    for page in (rep / "index.html", rep / "demo" / "index.html"):
        parser = _Links()
        parser.feed(page.read_text())
        assert len(parser.links) > 10
        for link in parser.links:
            if link.startswith("data:"):
                continue
            parts = urlsplit(link)
            assert not parts.scheme and not parts.netloc and not link.startswith("/"), f"{page}: {link}"
            assert (page.parent / unquote(parts.path)).is_file(), f"{page}: broken link {link}"


@pytest.fixture(scope="module")
def server(run: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(run / "report"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


WAIT_AUDIO = """async () => Promise.all([...document.querySelectorAll('audio')].map(a => new Promise(resolve => {
  const done = () => resolve({src: a.getAttribute('src'), duration: a.duration, error: a.error && a.error.code});
  if (a.readyState >= 1 || a.error) { done(); return; }
  a.addEventListener('loadedmetadata', done); a.addEventListener('error', done);
})))"""
IMAGES = """() => [...document.images].map(i => ({src: i.getAttribute('src'), w: i.naturalWidth, complete: i.complete}))"""


def _screenshot(page: object, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5000
    if os.environ.get("BENCH_ARTIFACTS"):
        dest = Path(__file__).resolve().parents[1] / "test-artifacts"
        dest.mkdir(exist_ok=True)
        shutil.copy(path, dest / name)


@pytest.mark.parametrize("page_path", ["demo/index.html", "index.html"])
def test_page_in_chromium(run: Path, server: str, browser: object, tmp_path: Path, page_path: str) -> None:
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    bad_responses: list[str] = []
    page.on("response", lambda r: bad_responses.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{server}/{page_path}", wait_until="load")
    base = (run / "report" / page_path).parent
    audios = page.evaluate(WAIT_AUDIO)
    if page_path.startswith("demo"):
        assert len(audios) == 6 * 5 - 1  # 6 utterances x (reference + 4 systems; natural hidden), broken_sys misses one
    for a in audios:
        assert a["error"] is None, a
        info = sf.info(str(base / unquote(a["src"])))
        assert abs(a["duration"] - info.frames / info.samplerate) <= 1e-3, a
    images = page.evaluate(IMAGES)
    assert images, "no images on the page"
    for img in images:
        assert img["complete"] and img["w"] > 0, img
    _screenshot(page, tmp_path, f"reports_{page_path.replace('/', '_').replace('.html', '')}.png")
    page.close()
    assert not errors, errors
    assert not bad_responses, bad_responses
