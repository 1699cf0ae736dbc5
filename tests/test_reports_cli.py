"""``bench report`` on the command line: a comparison of two runs, and usage errors with exit status 2."""

from __future__ import annotations

import re
import shutil
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
    assert cols[4:8] == ["SI-SDR [ckpt_a] (dB) ↑", "SI-SDR [ckpt_b] (dB) ↑", "LSD [ckpt_a] ↓", "LSD [ckpt_b] ↓"]
    rows = {line.split(" | ")[0].strip("| "): [c.strip() for c in line.strip().strip("|").split(" | ")]
            for line in md.splitlines() if line.startswith("| ") and not line.startswith("| system")}
    assert set(rows) == {"Natural", "lowpass", "delayed", "noisy", "broken_sys"}  # display names
    assert rows["broken_sys"][4] == "–"  # not in run a
    for j, (run, metric) in enumerate([(a, "si_sdr"), (b, "si_sdr"), (a, "lsd"), (b, "lsd")]):
        results = read_results(run)
        vals = [r["value"] for r in results if r["system"] == "noisy" and r["metric"] == metric]
        _, _, mean, _ = recompute(vals)
        text = re.match(r"\**(-?\d+\.\d+)", rows["noisy"][4 + j]).group(1)
        assert abs(float(text) - mean) <= 0.5 * 10 ** -len(text.split(".")[1]) + 1e-9
    assert (out / "summary.tex").read_text().count(r"\toprule") == 1
    assert (out / "plots" / "compare_si_sdr.png").is_file() and (out / "plots" / "compare_si_sdr.pdf").is_file()
    html = (out / "index.html").read_text()
    assert "ckpt_a" in html and "ckpt_b" in html and "plots/compare_lsd.png" in html
    assert "different utterance sets" not in html  # the same six utterances


def _drop_utterances(run: Path, dest: Path, speaker: str) -> Path:
    """A copy of ``run`` whose results lack every utterance of ``speaker`` (as a run with --speakers would)."""
    shutil.copytree(run, dest)
    for name in ("results.csv", "results.jsonl"):
        lines = (dest / name).read_text().splitlines(keepends=True)
        (dest / name).write_text("".join(line for line in lines if f"{speaker}/" not in line))
    return dest


def test_comparison_of_different_utterance_sets_uses_the_common_ones_and_says_so(
        runs: tuple[Path, Path], tmp_path: Path) -> None:
    a, b = runs
    small = _drop_utterances(b, tmp_path / "ckpt_small", "p227")
    out = tmp_path / "cmp"
    assert main(["report", str(a), str(small), "--out", str(out)]) == 0
    md = (out / "summary.md").read_text()
    html = (out / "index.html").read_text()
    for text in (md, html):
        assert "different utterance sets (ckpt_a 6, ckpt_small 4 utterances)" in text
        assert "on the 4 utterances they have in common" in text
    rows = {line.split(" | ")[0].strip("| "): [c.strip() for c in line.strip().strip("|").split(" | ")]
            for line in md.splitlines() if line.startswith("| ") and not line.startswith("| system")}
    results = read_results(a)
    common = [r["value"] for r in results if r["system"] == "delayed" and r["metric"] == "si_sdr"
              and not r["utterance"].startswith("p227/")]
    everything = [r["value"] for r in results if r["system"] == "delayed" and r["metric"] == "si_sdr"]
    text = re.match(r"\**(-?\d+\.\d+)", rows["delayed"][4]).group(1)
    assert abs(float(text) - recompute(common)[2]) <= 0.5 * 10 ** -len(text.split(".")[1]) + 1e-9
    assert abs(recompute(everything)[2] - recompute(common)[2]) > 0.01  # the restriction matters here
    assert rows["delayed"][2] == "4"  # n
    assert 'id="n-per-run"' in html


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


def test_comparison_shows_achieved_bitrates_and_says_when_rates_differ(runs: tuple[Path, Path],
                                                                       tmp_path: Path) -> None:
    import json

    a, b = runs
    b16 = tmp_path / "ckpt_b16"
    shutil.copytree(b, b16)
    doc = json.loads((b16 / "run.json").read_text())
    doc["config"]["sample_rate"] = 16000  # as `bench run --sample-rate 16000` records it
    (b16 / "run.json").write_text(json.dumps(doc))
    out = tmp_path / "cmp"
    assert main(["report", str(a), str(b16), "--out", str(out)]) == 0
    md = (out / "summary.md").read_text()
    rows = {line.split(" | ")[0].strip("| "): [c.strip() for c in line.strip().strip("|").split(" | ")]
            for line in md.splitlines() if line.startswith("| ") and not line.startswith("| system")}
    coded = {r["system"] for r in read_results(a) if r["metric"] == "bitrate_kbps" and r["value"] not in ("", "nan")}
    assert coded
    for system in coded:
        texts = []
        for run in (a, b16):
            vals = [float(r["value"]) for r in read_results(run) if r["system"] == system and r["metric"] == "bitrate_kbps"]
            texts.append(f"{sum(vals) / len(vals):.1f}")
        assert rows[system][1] == " / ".join(dict.fromkeys(texts)), rows[system]
    assert rows["Natural"][1] == "–"  # spends no bits
    assert "evaluated at different rates (ckpt_a: 48 kHz, ckpt_b16: 16 kHz)" in md
