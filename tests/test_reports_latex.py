"""summary.tex compiles with pdflatex and, with the default report metrics, fits a two-column paper's
``table*`` (the ICASSP text width, 178 mm); with ``--latex-table table`` two metrics fit one column.

The run folder has every registered metric with values in each metric's usual range and the systems of
the paper's comparison (long names included); the tables are what ``bench report`` writes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bench.runfolder import CorpusInfo, Manifest, write_manifest
from metrics import METRICS
from reports.build import ReportOptions, write_tables
from reports.options import DEFAULT_REPORT_METRICS
from reports.rundata import load_run

SYSTEMS = ["natural", "anchor35", "anchor70", "opus", "audiodec_stage1", "audiodec", "symad", "scoredec", "opus_spf"]
#: (low, high) of plausible per-utterance values, for realistic widths (-12.345 is wider than 0.9)
RANGES = {"MOS-LQO": (1.0, 4.6), "dB": (-25.0, 30.0), "rad": (0.0, 1.6), "": (0.3, 0.99)}
PAPER = r"""\documentclass[twocolumn,10pt]{article}
\usepackage[a4paper,textwidth=178mm,columnsep=6.3mm,textheight=229mm]{geometry}
\usepackage{booktabs}
\begin{document}
\input{TABLES}
\end{document}
"""


def make_paper_run(root: Path) -> Path:
    """A run folder (results.csv + run.json, no audio) with every metric and nine systems on two speakers."""
    rng = np.random.default_rng(0)
    rows = []
    items = []
    for spk in ("p232", "p257"):
        for k in range(1, 6):
            utt = f"{spk}_{k:03d}"
            items.append({"id": utt, "speaker": spk, "gender": "male" if spk == "p232" else "female"})
            for s in SYSTEMS:
                for m in METRICS.names():
                    low, high = RANGES.get(METRICS.get(m).spec.unit, RANGES[""])
                    rows.append((utt, spk, s, m, repr(float(rng.uniform(low, high))), ""))
                kbps = {"anchor35": None, "anchor70": None, "natural": None}.get(s, 24.0 + rng.normal(0, 0.5))
                rows.append((utt, spk, s, "bitrate_kbps", "nan" if kbps is None else repr(kbps),
                             f"n/a: {s} spends no bits" if kbps is None else ""))
    root.mkdir(parents=True)
    with (root / "results.csv").open("w") as fh:
        fh.write("utterance,speaker,system,metric,value,error\n")
        fh.writelines(",".join(r) + "\n" for r in rows)
    metrics = {m: {"higher_is_better": METRICS.get(m).spec.higher_is_better, "unit": METRICS.get(m).spec.unit,
                   "library": "", "settings": {}} for m in METRICS.names()}
    write_manifest(root, Manifest(status="complete", config={"align": "system", "max_lag_ms": 20},
                                  corpus=CorpusInfo(items=items), systems={s: {"description": s} for s in SYSTEMS},
                                  metrics=metrics))
    return root


def compile_tex(folder: Path, tables: str) -> str:
    """pdflatex a two-column paper that inputs ``tables``; returns the log. Fails on any LaTeX error."""
    (folder / "paper.tex").write_text(PAPER.replace("TABLES", tables))
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"], cwd=folder,
                          capture_output=True, text=True, timeout=120, check=False)
    log = (folder / "paper.log").read_text(errors="replace")
    assert proc.returncode == 0, log[-3000:]
    assert (folder / "paper.pdf").stat().st_size > 1000
    return log


def overfull(log: str) -> list[float]:
    """How far (pt) each overfull horizontal box sticks out."""
    return [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]


@pytest.fixture(scope="module")
def pdflatex() -> str:
    path = shutil.which("pdflatex")
    if path is None:
        pytest.skip("pdflatex missing (Debian: texlive-latex-base texlive-latex-recommended; scripts/setup_system.sh)")
    return path


def test_default_summary_tex_fits_a_two_column_papers_table_star(pdflatex: str, tmp_path: Path) -> None:
    run = load_run(make_paper_run(tmp_path / "run"))
    out = tmp_path / "report"
    out.mkdir()
    write_tables(run, out, ReportOptions())
    tex = (out / "summary.tex").read_text()
    assert r"\begin{table*}" in tex
    header = tex.splitlines()[tex.splitlines().index(r"\toprule") + 1]
    assert DEFAULT_REPORT_METRICS == ("pesq_wb", "stoi", "visqol_speech", "si_sdr", "phase_distance", "mcd")
    # display names, not ids
    assert [h.strip() for h in header.removesuffix(r"\\").split("&")][3:] == \
        ["PESQ-WB", "STOI", "ViSQOL", "SI-SDR", "Phase distance", "MCD"]
    body = tex[tex.index(r"\midrule"):tex.index(r"\bottomrule")]
    assert [line.split(" & ")[0] for line in body.splitlines()[1:]] == [
        "Natural", "Anchor 3.5 kHz", "Anchor 7 kHz", "Opus", "AudioDec stage 1", "AudioDec", "symAD",
        "ScoreDec", "Opus+SPF"]
    assert not any(raw in tex for raw in (r"pesq\_wb", r"audiodec\_stage1", r"opus\_spf", "anchor35"))
    log = compile_tex(out, "summary.tex")
    assert overfull(log) == [], overfull(log)
    # the anchors and the reference are never bold, even where their (random) mean is the best
    for line in tex.splitlines():
        if line.startswith(("Natural", "Anchor")):
            assert r"\mathbf" not in line, line
    # per-speaker tables compile too (in their own file)
    assert overfull(compile_tex(out, "summary_speakers.tex")) == []


def test_every_metric_in_one_table_does_not_fit_and_the_check_sees_it(pdflatex: str, tmp_path: Path) -> None:
    run = load_run(make_paper_run(tmp_path / "run"))
    out = tmp_path / "report"
    out.mkdir()
    write_tables(run, out, ReportOptions(report_metrics=tuple(run.metrics)))
    widths = overfull(compile_tex(out, "summary.tex"))
    assert widths and max(widths) > 100  # 12 metrics are far wider than the text


def test_one_column_table_with_two_metrics_fits(pdflatex: str, tmp_path: Path) -> None:
    run = load_run(make_paper_run(tmp_path / "run"))
    out = tmp_path / "report"
    out.mkdir()
    write_tables(run, out, ReportOptions(report_metrics=("pesq_wb", "si_sdr"), latex_environment="table"))
    tex = (out / "summary.tex").read_text()
    assert r"\begin{table}[t]" in tex and "table*" not in tex
    assert overfull(compile_tex(out, "summary.tex")) == []


def test_summary_tex_caption_and_notes_a_paper_can_keep(pdflatex: str, tmp_path: Path) -> None:
    root = make_paper_run(tmp_path / "run")
    lines = (root / "results.csv").read_text().splitlines()
    fixed = [",".join([*r.split(",")[:4], "100.0", ""]) if r.split(",")[2:4] == ["natural", "stoi"] else r for r in lines]
    (root / "results.csv").write_text("\n".join(fixed) + "\n")  # the reference against itself: no spread
    out = tmp_path / "report"
    out.mkdir()
    write_tables(load_run(root), out, ReportOptions(report_metrics=("pesq_wb", "stoi")))
    tex = (out / "summary.tex").read_text()
    caption = next(line for line in tex.splitlines() if line.startswith(r"\caption"))
    assert "Summary of" not in caption and "10 utterances" in caption and "95" in caption
    assert "failed =" not in tex  # no note about a column the LaTeX table does not have
    natural = next(line for line in tex.splitlines() if line.startswith("Natural &"))
    assert natural.endswith("$100.000$ \\\\") and r"\pm 0.000" not in natural
    log = compile_tex(out, "summary.tex")
    assert overfull(log) == [] and "Underfull" not in log, re.findall(r"(?:Under|Over)full.*", log)
