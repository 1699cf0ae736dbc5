"""End to end: ``bench run`` on the demo corpus writes its report at the end; ``bench report`` on the same
folder gives tables whose numbers equal results.csv, and a demo page whose audio matches the run's."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import soundfile as sf

from bench.cli import main

try:
    from conftest import run_bench_saved, saved_bench
    from test_reports_fixtures import read_results, recompute
except ImportError:  # tests/ imported as a package
    from tests.conftest import run_bench_saved, saved_bench
    from tests.test_reports_fixtures import read_results, recompute


@pytest.fixture(scope="module")
def demo_run(shared_run) -> tuple[Path, subprocess.CompletedProcess]:
    def build(base: Path) -> None:
        run_bench_saved(base / "bench", "run", "--systems", "natural,anchor35", "--data", "demo", "--limit", "2",
                        "--metrics", "si_sdr,lsd", "--workers", "1", "--out", str(base / "run"))

    base = shared_run("bench_run_with_report", build)
    return base / "run", saved_bench(base / "bench")


def test_bench_run_writes_the_report(demo_run: tuple[Path, subprocess.CompletedProcess]) -> None:
    out, proc = demo_run
    assert "could not be built" not in proc.stderr
    assert f"report: {out / 'report' / 'index.html'}" in proc.stdout
    for name in ("index.html", "summary.md", "summary.tex", "demo/index.html", "plots/bar_si_sdr.pdf",
                 "plots/scatter_lsd_vs_si_sdr.png"):
        assert (out / "report" / name).is_file(), name


def test_bench_report_numbers_and_demo_audio(demo_run: tuple[Path, subprocess.CompletedProcess], tmp_path: Path) -> None:
    out, _ = demo_run
    rep = tmp_path / "rep"
    assert main(["report", str(out), "--out", str(rep), "--report-metrics", "si_sdr,lsd", "--demo-systems", "anchor35"]) == 0
    results = read_results(out)
    md = (rep / "summary.md").read_text().splitlines()
    start = md.index(f"## Summary of {out.name}")
    header = [h.strip() for h in md[start + 2].strip("|").split(" | ")]
    assert header[4:6] == ["SI-SDR (dB) ↑", "LSD ↓"]  # display names
    end = md.index("", start + 2)
    rows = md[start + 4: end]
    assert [r.split(" | ")[0].strip("| ") for r in rows] == ["Natural", "Anchor 3.5 kHz"]
    ids = {"Natural": "natural", "Anchor 3.5 kHz": "anchor35"}
    for line in rows:
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        for metric, text in zip(("si_sdr", "lsd"), cells[4:6]):
            n, _, mean, half = recompute([r["value"] for r in results if r["system"] == ids[cells[0]]
                                          and r["metric"] == metric])
            m = re.match(r"^\**(-?\d+\.\d+)\**(?: ± (\d+\.\d+))?$", text)
            assert m and n == 2, text
            for got, want in ((m.group(1), mean), (m.group(2), half)):
                assert abs(float(got) - want) <= 0.5 * 10 ** -len(got.split(".")[1]) + 1e-9, (cells[0], metric, text)
    # every demo player is the run's audio, sample for sample at 16-bit precision
    utts = sorted({r["utterance"] for r in results})
    for u in utts:
        for folder, src in (("_reference", out / "reference" / f"{u}.wav"), ("anchor35", out / "audio" / "anchor35" / f"{u}.wav")):
            a, sr_a = sf.read(rep / "demo" / "audio" / folder / f"{u}.wav", dtype="float32")
            b, sr_b = sf.read(src, dtype="float32")
            assert sr_a == sr_b == 48000 and a.shape == b.shape
            assert float(abs(a - b.clip(-1, 1)).max()) <= 1.0 / 32768 + 1e-6
    assert len(utts) == 2
