"""One display name and one colour per system (reports.display) in every figure and page; plot labels that do
not overlap; marks clear of the axis; the reference once per spectrogram grid; one Rate-quality heading with
the other metrics' curves folded (real Chromium)."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.text import Text

from bench.runfolder.paths import REFERENCE_SYSTEM
from bench.runfolder.results import Row
from reports import build_report
from reports.display import metric_name, system_colours, system_name, system_names
from reports.figures import plt
from reports.plots import bar_figure, scatter_figure
from reports.ratequality import rate_points, rate_quality_figure
from reports.rundata import BITRATE, Run, load_run
from reports.spectrograms import grid_entries

try:
    from test_reports_fixtures import make_run
except ImportError:  # tests/ imported as a package
    from tests.test_reports_fixtures import make_run


def test_display_names_of_registered_and_unknown_systems_and_metrics() -> None:
    cases = {
        ("scoredec", None): "ScoreDec", ("opus_spf", 24.0): "Opus+SPF", ("audiodec_stage1", 6.4): "AudioDec stage 1",
        ("symad", None): "symAD", ("audiodec", None): "AudioDec", ("opus", 24.0): "Opus 24 kbps",
        ("opus@6k", 6.0): "Opus 6 kbps", ("encodec", 6.0): "EnCodec 6 kbps", ("dac_44k", 8.0): "DAC 44.1 kHz 8 kbps",
        ("natural", None): "Natural", ("anchor35", None): "Anchor 3.5 kHz", ("anchor70", None): "Anchor 7 kHz",
        ("opus@12k+spf", 12.0): "Opus+SPF 12 kbps", ("files:mine@6k", 6.0): "mine 6 kbps", ("files:mine", None): "mine",
        ("my_codec@1.5k", None): "my_codec 1.5 kbps", ("my_codec", None): "my_codec",
        ("opus@12k[application=voip]", 12.0): "Opus 12 kbps [application=voip]",
        ("opus+spf[steps=8]", 24.0): "Opus+SPF 24 kbps [steps=8]",
    }
    assert {k: system_name(*k) for k in cases} == cases
    assert [metric_name(m) for m in ("pesq_wb", "stoi", "si_sdr", "visqol_speech", "mcd", BITRATE, "my_metric")] == \
        ["PESQ-WB", "STOI", "SI-SDR", "ViSQOL", "MCD", "Bitrate", "my_metric"]


def _run(values: dict[str, tuple[float, float, float | None]], info_systems: dict | None = None) -> Run:
    """An in-memory run: per system (PESQ-like mean, SI-SDR-like mean, kbps or None for no bits), 8 utterances."""
    rng = np.random.default_rng(1)
    rows, utts = [], [f"u{i}" for i in range(8)]
    for s, (q, p, kbps) in values.items():
        for u in utts:
            rows.append(Row(u, "spk", s, "pesq_wb", float(q + rng.normal(0, 0.01))))
            rows.append(Row(u, "spk", s, "si_sdr", float(p + rng.normal(0, 0.2))))
            rows.append(Row(u, "spk", s, BITRATE, float(kbps + rng.normal(0, 0.05))) if kbps is not None
                        else Row(u, "spk", s, BITRATE, float("nan"), f"n/a: {s} spends no bits"))
    info = {"systems": {s: {"nominal_kbps": v[2]} for s, v in values.items()} | (info_systems or {}),
            "metrics": {"pesq_wb": {"higher_is_better": True, "unit": "MOS-LQO"},
                        "si_sdr": {"higher_is_better": True, "unit": "dB"}}}
    return Run(Path("/nonexistent"), "synthetic", info, rows, list(values), ["pesq_wb", "si_sdr"], utts,
               dict.fromkeys(utts, "spk"))


#: the demo's clusters: opus and opus_spf at one bitrate and near-identical quality, three neural systems at one
#: point, the natural reference and the 7 kHz anchor a hair apart
CLUSTERED = {
    "natural": (4.30, 30.0, None), "anchor70": (4.28, 29.0, None), "anchor35": (2.0, 5.0, None),
    "opus": (3.997, 12.0, 24.0), "opus_spf": (3.99, 11.9, 24.1), "opus@6k": (2.6, 4.0, 6.0),
    "audiodec_stage1": (1.084, -20.0, 6.4), "audiodec": (1.09, -20.3, 6.4), "symad": (1.085, -19.9, 6.4),
    "scoredec": (1.085, -20.1, 6.4),
}


def _text_boxes(fig) -> list[tuple[str, object]]:
    """(text, window extent) of every visible text inside the figure's axes and legends (annotations, labels)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    out = []
    for ax in fig.axes:
        texts = [*ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            texts += legend.get_texts()
        out += [(t.get_text(), Text.get_window_extent(t, renderer)) for t in texts if t.get_visible() and t.get_text()]
    return out


def _overlapping(boxes: list[tuple[str, object]]) -> list[tuple[str, str]]:
    return [(a, b) for i, (a, ba) in enumerate(boxes) for b, bb in boxes[i + 1:] if ba.overlaps(bb)]


def test_rate_quality_labels_do_not_overlap_and_colours_match_the_bar_chart() -> None:
    run = _run(CLUSTERED)
    colours = system_colours(run)
    names = system_names(run)
    fig, _ = rate_quality_figure(run, "pesq_wb", rate_points(run))
    boxes = _text_boxes(fig)
    shown = [t for t, _ in boxes]
    for s in ("opus", "opus_spf", "audiodec_stage1", "audiodec", "symad", "scoredec", "opus@6k"):
        assert names[s] in shown, (s, shown)  # every coded point is named ...
    assert "Natural" in shown and "Anchor 7 kHz" in shown  # ... and every reference line (in the legend)
    assert _overlapping(boxes) == []
    # each family's line in the family's colour: opus@6k and opus share opus's
    ax = fig.axes[0]
    line_colours = {c.get_label(): to_rgb(c.lines[0].get_color()) for c in ax.containers}  # errorbar lines
    plt.close(fig)
    bar = bar_figure(run, "pesq_wb")
    bars = {tick.get_text(): to_rgb(patch.get_facecolor()) for tick, patch in
            zip([t for t in bar.axes[0].get_xticklabels() if t.get_text() not in ("Natural",)], bar.axes[0].patches)}
    plt.close(bar)
    assert colours["opus"] == colours["opus@6k"] != colours["opus_spf"]
    assert np.allclose(bars["Opus 24 kbps"], colours["opus"]) and np.allclose(bars["Opus 6 kbps"], colours["opus"])
    assert np.allclose(bars["ScoreDec"], colours["scoredec"])
    for label, rgb in line_colours.items():  # the rate-quality lines wear the bar chart's colours
        if label in bars:
            assert np.allclose(rgb, bars[label]), label
    assert np.allclose(line_colours["Opus"], bars["Opus 24 kbps"])
    assert len({colours[s] for s in ("opus", "opus_spf", "audiodec_stage1", "audiodec", "symad", "scoredec")}) == 6


def test_scatter_labels_are_display_names_that_do_not_overlap() -> None:
    run = _run(CLUSTERED)
    fig = scatter_figure(run, "pesq_wb", "si_sdr")
    boxes = _text_boxes(fig)
    plt.close(fig)
    assert {"ScoreDec", "symAD", "AudioDec stage 1", "Opus 24 kbps", "Opus+SPF", "Anchor 7 kHz"} <= {t for t, _ in boxes}
    assert _overlapping(boxes) == []


def test_not_applicable_and_failed_marks_are_clear_of_the_axis() -> None:
    run = _run({"natural": (4.3, 30.0, None), "anchor35": (2.0, 5.0, None), "opus": (4.0, 12.0, 24.0),
                "lc3": (3.9, 11.0, 32.0)})
    fig = bar_figure(run, BITRATE, exclude=())
    ax = fig.axes[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    marks = [t for t in ax.texts if t.get_text() == "n/a"]
    assert len(marks) == 2  # natural and the anchor spend no bits
    ticks = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
    frame = ax.get_window_extent(renderer)
    zero = ax.transData.transform((0, 0))[1]
    for mark in marks:
        box = mark.get_window_extent(renderer)
        assert not any(box.overlaps(t) for t in ticks)
        assert box.y0 > frame.y0 + 2 and box.y0 > zero + 2  # above the axis and the zero line
    plt.close(fig)


def test_spectrogram_grid_shows_the_reference_once(tmp_path: Path) -> None:
    run = load_run(make_run(tmp_path / "run"))
    utt = run.utterances[0]
    rows = grid_entries(run, utt, [REFERENCE_SYSTEM, *run.systems])
    labels = [name for name, _ in rows]
    assert labels.count("Reference") == 1 and labels[0] == "Reference"
    assert sum(path == run.reference_path(utt) for _, path in rows) == 1
    assert "Natural" in labels and "natural" not in labels  # display names


@pytest.fixture(scope="module")
def report(shared_run) -> Path:
    # the same shared run (and builder) as test_reports_pages: built once per session
    return shared_run("failing_run", lambda root: build_report([make_run(root, failing=True)])) / "report"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server(report: Path) -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(report)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_report_page_names_colours_and_one_rate_quality_heading(browser: object, server: str, report: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{server}/index.html", wait_until="load")
    headings = page.locator("h2, h3, summary").all_inner_texts()
    assert sum(h.strip() == "Rate-quality" for h in headings) == 1, headings
    curves = page.locator("img[src*='ratequality_']")
    assert curves.count() == 2
    visible = [c.get_attribute("src") for c in curves.all() if c.is_visible()]
    assert visible == ["plots/ratequality_si_sdr.png"]  # the first report metric's; the other folded
    page.locator("summary", has_text="more Rate-quality").click()
    assert all(c.is_visible() for c in curves.all())
    # the summary table: display names, each with its plot colour
    row = page.locator("#summary + div tr[data-system='natural'] td.sys")
    assert row.inner_text().startswith("Natural")
    swatches = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#summary + div tr[data-system]')]
        .map(tr => [tr.dataset.system, getComputedStyle(tr.querySelector('.swatch')).backgroundColor]))""")
    run = load_run(report.parent)
    for system, rgb in system_colours(run).items():
        css = "rgb({}, {}, {})".format(*(round(c * 255) for c in rgb))
        assert swatches[system] == css, system
    # the demo page: display names on the players, the same colours in its legend
    page.goto(f"{server}/demo/index.html", wait_until="load")
    assert page.locator(".player[data-system='reference'] .name").first.inner_text() == "Reference"
    page.close()
