"""``bench report`` on the command line: a comparison of two runs, and usage errors with exit status 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.cli import main

try:
    from test_reports_fixtures import make_run, read_results, recompute
except ImportError:  # tests/ imported as a package
    from tests.test_reports_fixtures import make_run, read_results, recompute


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("cli")
    return make_run(base / "ckpt_a", seconds=0.6), make_run(base / "ckpt_b", failing=True, seconds=0.6, seed_offset=7)


def test_comparison_puts_runs_side_by_side(runs: tuple[Path, Path], tmp_path: Path) -> None:
    a, b = runs
    out = tmp_path / "cmp"
    assert main(["report", str(a), str(b), "--out", str(out)]) == 0
    md = (out / "summary.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| system"))
    cols = [c.strip() for c in header.strip("|").split(" | ")]
    assert cols[3:7] == ["si_sdr [ckpt_a] (dB) ↑", "si_sdr [ckpt_b] (dB) ↑", "lsd [ckpt_a] ↓", "lsd [ckpt_b] ↓"]
    rows = {line.split(" | ")[0].strip("| "): [c.strip() for c in line.strip().strip("|").split(" | ")]
            for line in md.splitlines() if line.startswith("| ") and not line.startswith("| system")}
    assert set(rows) == {"natural", "lowpass", "delayed", "noisy", "broken_sys"}
    assert rows["broken_sys"][3] == "–"  # not in run a
    for j, (run, metric) in enumerate([(a, "si_sdr"), (b, "si_sdr"), (a, "lsd"), (b, "lsd")]):
        results = read_results(run)
        vals = [r["value"] for r in results if r["system"] == "noisy" and r["metric"] == metric]
        _, _, mean, _ = recompute(vals)
        text = re.match(r"\**(-?\d+\.\d+)", rows["noisy"][3 + j]).group(1)
        assert abs(float(text) - mean) <= 0.5 * 10 ** -len(text.split(".")[1]) + 1e-9
    assert (out / "summary.tex").read_text().count(r"\toprule") == 1
    assert (out / "plots" / "compare_si_sdr.png").is_file() and (out / "plots" / "compare_si_sdr.pdf").is_file()
    html = (out / "index.html").read_text()
    assert "ckpt_a" in html and "ckpt_b" in html and "plots/compare_lsd.png" in html


def test_usage_errors_exit_2_and_name_the_problem(runs: tuple[Path, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    a, b = runs
    assert main(["report", str(a), str(b)]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "run.json" in capsys.readouterr().err
    assert main(["report", str(a), "--out", str(tmp_path / "r"), "--panels", "lowpass;nonexistent"]) == 2
    assert "nonexistent" in capsys.readouterr().err
    assert main(["report", str(a), "--out", str(tmp_path / "r"), "--demo-utterances", "p999/x"]) == 2
    assert "p999/x" in capsys.readouterr().err
