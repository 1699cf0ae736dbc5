"""A kill -9 at any moment of ``bench report`` never leaves a truncated file or a page with a broken link:
every file is written under a temporary name and renamed, and the previous build's files stay until the
new pages are in place."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import soundfile as sf

try:
    from test_reports_fixtures import make_run
except ImportError:  # tests/ imported as a package
    from tests.test_reports_fixtures import make_run

REPO = Path(__file__).resolve().parents[1]
KILL_AT = (0.3, 0.6, 0.85)  # fractions of an uninterrupted rebuild


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [v for k, v in attrs if k in ("src", "href") and v and not v.startswith(("data:", "http"))]


def _complete(path: Path) -> bool:
    data = path.read_bytes()
    if path.suffix == ".pdf":
        return data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
    if path.suffix == ".png":
        return data.startswith(b"\x89PNG") and data.endswith(b"IEND\xaeB`\x82")
    if path.suffix == ".wav":
        info = sf.info(str(path))
        return info.frames > 0 and sf.read(str(path))[0].shape[0] == info.frames
    if path.suffix in (".html", ".md", ".tex"):
        text = data.decode("utf-8")
        return text.rstrip().endswith("</html>") if path.suffix == ".html" else len(text) > 100
    return True


def _check(report: Path) -> None:
    for page in (report / "index.html", report / "demo" / "index.html"):
        assert page.is_file(), f"{page} missing"
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for link in parser.links:
            target = page.parent / unquote(urlsplit(link).path)
            assert target.is_file(), f"{page}: {link} does not resolve"
    for path in report.rglob("*"):
        if path.is_file() and not path.name.startswith(".tmp-"):
            assert _complete(path), f"{path} is incomplete"


def _bench_report(run: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bench", "report", str(run), "--demo-utterances",
                             "p225/p225_001,p226/p226_001"], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs kill -9")
def test_kill_during_report_leaves_complete_files_and_working_links(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", seconds=0.4)
    t0 = time.monotonic()
    assert _bench_report(run).wait(timeout=600) == 0
    full = time.monotonic() - t0
    _check(run / "report")
    for fraction in KILL_AT:
        proc = _bench_report(run)
        time.sleep(full * fraction)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        _check(run / "report")
    # a later build cleans up: no temporary files are left behind
    assert _bench_report(run).wait(timeout=600) == 0
    assert not [p for p in (run / "report").rglob(".tmp-*")]
    _check(run / "report")
