"""summary.md and summary.tex: their numbers equal those recomputed from results.csv; best in bold."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from reports.build import ReportOptions, write_tables
from reports.rundata import load_run

try:
    from test_reports_fixtures import make_run, read_results, recompute
except ImportError:  # tests/ imported as a package
    from tests.test_reports_fixtures import make_run, read_results, recompute

#: the display names of the fixture's systems whose id differs (reports.display)
IDS = {"Natural": "natural"}
MD_CELL = re.compile(r"^(\*\*)?(-?\d+\.\d+)(?:\*\*)?(?: ± (\d+\.\d+))?(?: \(n=(\d+), (\d+) failed\))?$")
TEX_CELL = re.compile(r"^\$(\\mathbf\{)?(-?\d+\.\d+)\}?(?: \\pm (\d+\.\d+))?\$(?: \{\\scriptsize \(n=(\d+), (\d+) failed\)\})?$")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = make_run(tmp_path_factory.mktemp("run") / "run_ok", failing=True)
    (run / "report").mkdir()
    write_tables(load_run(run), run / "report", ReportOptions(report_metrics=("si_sdr", "lsd")))  # tables only
    return run


def _close(text: str, value: float) -> bool:
    decimals = len(text.split(".")[1])
    return abs(float(text) - value) <= 0.5 * 10 ** -decimals + 1e-9


def _parse_md(md: str, title: str) -> tuple[list[str], dict[str, list[str]]]:
    lines = md.splitlines()
    i = lines.index(title)
    header = [h.strip() for h in lines[i + 2].strip("|").split(" | ")]
    rows = {}
    for line in lines[i + 4:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        rows[IDS.get(cells[0], cells[0])] = cells
    return header, rows


def _parse_tex(tex: str, caption: str) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """(metric names, units and arrows, rows) of the table with ``caption``."""
    block = tex[tex.index(caption):]
    block = block[: block.index(r"\end{table")]
    head = block[block.index(r"\toprule") + 8: block.index(r"\midrule")].strip().splitlines()
    body = block[block.index(r"\midrule") + 8: block.index(r"\bottomrule")].strip()
    header, units = ([h.strip() for h in re.split(r"(?<!\\)&", line.strip().removesuffix(r"\\"))] for line in head)
    rows = {}
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().removesuffix(r"\\").split(" & ")]
        name = cells[0].replace(r"\_", "_")
        rows[IDS.get(name, name)] = cells
    return header, units, rows


def _check(rows: dict[str, list[str]], header: list[str], results: list[dict], speaker: str | None,
           pattern: re.Pattern[str], first: int) -> int:
    """Compare every numeric cell (metric columns from index ``first``; the kbps column is index 1) with the
    recomputation; returns how many cells were checked."""
    metrics = ["si_sdr", "lsd"]
    assert len(header) == first + len(metrics) and header[1] == "kbps"
    checked = 0
    best: dict[str, tuple[float, set[str]]] = {}
    for system, cells in rows.items():
        kbps = [r["value"] for r in results if r["system"] == system and r["metric"] == "bitrate_kbps"
                and (speaker is None or r["speaker"] == speaker)]
        _, _, mean_kbps, _ = recompute(kbps)
        if math.isnan(mean_kbps):
            assert cells[1] in ("–", "--"), (system, cells[1])
        else:
            assert _close(cells[1], mean_kbps), (system, cells[1], mean_kbps)
        for metric, text in zip(metrics, cells[first:]):
            vals = [r["value"] for r in results if r["system"] == system and r["metric"] == metric
                    and (speaker is None or r["speaker"] == speaker)]
            n, n_failed, mean, half = recompute(vals)
            if n == 0:
                assert "failed" in text if n_failed else text in ("–", "--")
                continue
            m = pattern.match(text)
            assert m, f"{system}/{metric}: unparsable cell {text!r}"
            assert _close(m.group(2), mean), (system, metric, text, mean)
            if math.isnan(half) or (half == 0 and pattern is TEX_CELL):  # LaTeX: no "± 0.00" without spread
                assert m.group(3) is None
            else:
                assert _close(m.group(3), half), (system, metric, text, half)
            if n_failed:
                assert (int(m.group(4)), int(m.group(5))) == (n, n_failed)
            else:
                assert m.group(4) is None
            if system != "natural":
                sign = 1 if metric == "si_sdr" else -1
                key = round(sign * float(m.group(2)), 6)
                cur = best.get(metric)
                if cur is None or key > cur[0]:
                    best[metric] = (key, {system})
                elif key == cur[0]:
                    cur[1].add(system)
            checked += 1
    for metric, (_, winners) in best.items():
        j = first + metrics.index(metric)
        bold = {s for s, cells in rows.items() if pattern.match(cells[j]) and pattern.match(cells[j]).group(1)}
        assert bold == winners, (metric, bold, winners)
    return checked


def test_markdown_numbers_equal_recomputation(report: Path) -> None:
    md = (report / "report" / "summary.md").read_text()
    results = read_results(report)
    header, rows = _parse_md(md, f"## Summary of {report.name}")
    assert header[:4] == ["system", "kbps", "n", "failed"]
    assert header[4] == "SI-SDR (dB) ↑" and header[5] == "LSD ↓"  # display names, not ids
    assert "| Natural |" in md and "| natural |" not in md
    assert list(rows) == ["natural", "lowpass", "delayed", "noisy", "broken_sys"]
    assert _check(rows, header, results, None, MD_CELL, 4) >= 8
    for speaker in ("p225", "p226", "p227"):
        header, rows = _parse_md(md, f"### Speaker {speaker}")
        assert _check(rows, header, results, speaker, MD_CELL, 4) >= 8
    assert "alignment before intrusive metrics: one lag per utterance" in md  # an older run.json: align true
    assert "n_fft=1024" in md  # metric settings from run.json


def test_latex_numbers_equal_recomputation_and_names_are_escaped(report: Path) -> None:
    tex = (report / "report" / "summary.tex").read_text() + (report / "report" / "summary_speakers.tex").read_text()
    results = read_results(report)
    header, units, rows = _parse_tex(tex, r"\caption{Objective evaluation on 6 utterances")
    assert header[:3] == ["System", "kbps", "$n$"] and header[3:] == ["SI-SDR", "LSD"]  # display names
    assert "\nNatural & " in tex and "natural" not in tex
    assert units[3:] == [r"(dB) $\uparrow$", r"$\downarrow$"]
    assert "broken_sys" in rows and r"broken\_sys" in tex and "broken_sys" not in tex.replace(r"\_", "")
    assert _check(rows, header, results, None, TEX_CELL, 3) >= 8
    header, _, rows = _parse_tex(tex, r"\caption{Speaker p226}")
    assert _check(rows, header, results, "p226", TEX_CELL, 3) >= 8
    assert tex.count(r"\toprule") == 4 and tex.count(r"\bottomrule") == 4  # overall + 3 speakers
    # every brace opened is closed (a broken escape would unbalance them)
    stripped = tex.replace(r"\{", "").replace(r"\}", "")
    assert stripped.count("{") == stripped.count("}")
