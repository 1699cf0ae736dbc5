"""The rate-quality part of the report, from a real sweep: plot per metric, table, CSV, grouped demo page."""

from __future__ import annotations

import csv
from html.parser import HTMLParser

import pytest
from conftest import SUBSET, demo_clips, demo_manifest, need_libopus, run_bench, run_bench_saved

pytest.importorskip("lc3")

SWEEP = ["opus@6k", "opus@24k", "lc3@16k", "lc3@32k"]


class _Tables(HTMLParser):
    """Every <table> after an <h3> title: {title: [[cell text, ...], ...]}; and every <img src>."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[str] = []
        self._h3, self._title, self._row, self._cell = False, "", None, None

    def handle_starttag(self, tag, attrs):
        if tag == "h3":
            self._h3, self._title = True, ""
        elif tag == "table":
            self.tables[self._title] = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_endtag(self, tag):
        if tag == "h3":
            self._h3 = False
        elif tag in ("td", "th") and self._row is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._title].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._h3:
            self._title += data
        if self._cell is not None:
            self._cell += data


@pytest.fixture(scope="module")
def sweep(shared_run):
    need_libopus()

    def build(base):
        data = demo_clips(base / "data", n=2, seconds=2.0)
        # listed out of order on purpose: the report groups each family and orders it by bitrate
        systems = ["lc3@32k", "natural", "opus@24k", "anchor70", "opus@6k", "lc3@16k"]
        run_bench_saved(base / "run", "run", "--systems", ",".join(systems), "--data", f"folder:{data}", "--out",
                        str(base / "run"), "--metrics", "pesq_wb,si_sdr", "--workers", "1", "--quiet")

    return shared_run("rate_quality_sweep", build) / "run" / "report"


def test_rate_quality_csv_has_measured_rates_and_rising_quality(sweep):
    with open(sweep / "ratequality.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    pesq = {r["system"]: r for r in rows if r["metric"] == "pesq_wb"}
    assert sorted(pesq) == sorted(SWEEP)  # coded systems only: natural and the anchor are reference lines
    assert {pesq[s]["family"] for s in SWEEP} == {"opus", "lc3"}
    for s in SWEEP:
        nominal = float(s.split("@")[1].rstrip("k"))
        assert float(pesq[s]["kbps_mean"]) == pytest.approx(nominal, rel=0.25)  # measured, not the label
        assert int(pesq[s]["n"]) == 2
        assert float(pesq[s]["ci95_low"]) <= float(pesq[s]["mean"]) <= float(pesq[s]["ci95_high"])
    assert float(pesq["opus@6k"]["mean"]) < float(pesq["opus@24k"]["mean"])
    assert float(pesq["lc3@16k"]["mean"]) < float(pesq["lc3@32k"]["mean"])
    assert float(pesq["lc3@32k"]["kbps_mean"]) != 32.0 or float(pesq["lc3@16k"]["kbps_mean"]) != 16.0


def test_report_page_has_the_plots_and_the_table(sweep):
    page = _Tables()
    page.feed((sweep / "index.html").read_text(encoding="utf-8"))
    for metric in ("pesq_wb", "si_sdr"):
        src = f"plots/ratequality_{metric}.png"
        assert src in page.images and (sweep / src).stat().st_size > 5000
        assert (sweep / f"plots/ratequality_{metric}.pdf").is_file()
    table = page.tables["Rate-quality"]
    header, body = table[0], table[1:]
    assert header[3].startswith("Bitrate (kbps)") and any(h.startswith("PESQ-WB") for h in header)  # display names
    # grouped by family (first appearance), ascending bitrate inside each
    assert [r[0] for r in body] == ["LC3 16 kbps", "LC3 32 kbps", "Opus 6 kbps", "Opus 24 kbps"]
    kbps = [float(r[3].split("±")[0]) for r in body]
    assert kbps[0] < kbps[1] and kbps[2] < kbps[3]


def test_demo_page_groups_a_familys_bitrates(sweep):
    html = (sweep / "demo" / "index.html").read_text(encoding="utf-8")
    # natural is hidden by default (the reference is shown once); a family's bitrates stand together
    order = [html.index(f'data-system="{s}"') for s in ["lc3@16k", "lc3@32k", "opus@6k", "opus@24k"]]
    assert order == sorted(order)


def test_no_rate_quality_section_without_two_coded_systems(tmp_path):
    need_libopus()
    manifest = demo_manifest(tmp_path / "m.csv", SUBSET[:1])
    r = run_bench("run", "--systems", "natural,opus", "--data", f"manifest:{manifest}", "--out", str(tmp_path / "r"),
                  "--metrics", "si_sdr", "--workers", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "r" / "report" / "ratequality.csv").exists()
    assert "Rate-quality" not in (tmp_path / "r" / "report" / "index.html").read_text(encoding="utf-8")
