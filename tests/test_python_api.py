"""The Python API (``import bench``) from a plain Python session, as a notebook user meets it."""

from __future__ import annotations

import csv
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, SUBSET, demo_clips, demo_manifest, need_libopus, run_bench


def python(code: str, cwd: Path = REPO, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (a plain session: no pytest capture, no fixtures)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, check=False)


def test_import_bench_is_light():
    """`import bench` must not pull torch, pandas or the metric libraries (the CLI imports it for --version)."""
    p = python("import sys, bench; print(sorted(m for m in ('torch', 'pandas', 'pesq', 'visqol') if m in sys.modules))")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"


def test_evaluate_resamples_aligns_and_matches_pesq_directly():
    """A 16 kHz pair delayed by 5 ms: the lag is found at 48 kHz and removed; PESQ equals the pesq package
    on the hand-aligned 16 kHz pair; nothing is printed to stdout but our own line."""
    code = r"""
import json, numpy as np, soundfile as sf, soxr, bench
from bench.corpora import DEMO_DIR
x, sr = sf.read(str(DEMO_DIR / "demo_f_001.flac"), dtype="float32")
ref = soxr.resample(x, sr, 16000, quality="VHQ").astype(np.float32)
rng = np.random.default_rng(0)
deg = np.concatenate([np.zeros(80, np.float32), ref[:-80]]) + 0.003 * rng.standard_normal(len(ref)).astype(np.float32)
res = bench.evaluate(ref, deg, 16000, metrics=["pesq_wb", "si_sdr"])
from pesq import pesq
direct = pesq(16000, ref.astype(np.float64), np.concatenate([deg[80:], np.zeros(80)]).astype(np.float64), "wb")
print(json.dumps({"res": dict(res), "settings": res.settings, "errors": res.errors, "direct": direct}))
"""
    p = python(code)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert len(lines) == 1, p.stdout  # nothing else reached stdout
    out = json.loads(lines[0])
    res, settings = out["res"], out["settings"]
    assert res["lag_samples"] == 240.0  # 80 samples at 16 kHz = 5 ms = 240 samples at 48 kHz
    assert settings["input_sample_rate"] == 16000 and settings["sample_rate"] == 48000
    assert settings["resampler"] == "soxr VHQ" and settings["align"] == "system"
    assert settings["metrics"]["pesq_wb"]["sample_rate"] == 16000
    assert settings["metrics"]["pesq_wb"]["version"]
    assert out["errors"] == {}
    # the 16 -> 48 -> 16 kHz round trip trims the noise at the band edge: PESQ moves by a few hundredths
    assert abs(res["pesq_wb"] - out["direct"]) < 0.1
    assert res["si_sdr"] > 20  # aligned; unaligned by 5 ms it would be near 0 dB


def test_evaluate_follows_the_alignment_policy():
    import bench

    rng = np.random.default_rng(1)
    ref = rng.standard_normal(48000).astype(np.float32) * 0.1
    deg = np.concatenate([np.zeros(48, np.float32), ref[:-48]])
    aligned = bench.evaluate(ref, deg, 48000, metrics=["si_sdr"])
    per_utt = bench.evaluate(ref, deg, 48000, metrics=["si_sdr"], align="utterance")
    none = bench.evaluate(ref, deg, 48000, metrics=["si_sdr"], align="none")
    assert aligned["lag_samples"] == per_utt["lag_samples"] == 48.0 and none["lag_samples"] == 0.0
    # aligned, only the 48 zero-filled samples differ (~30 dB); white noise 1 ms apart is uncorrelated
    assert aligned["si_sdr"] > 25 and per_utt["si_sdr"] == aligned["si_sdr"]
    assert none["si_sdr"] < 5 and aligned["si_sdr_raw"] == none["si_sdr"]  # the raw row is the unaligned score
    assert none.settings["align"] == "none"
    with pytest.raises(ValueError, match="align mode 'yes'"):
        bench.evaluate(ref, deg, 48000, metrics=["si_sdr"], align="yes")


def test_evaluate_rejects_bad_input_clearly():
    import bench
    from bench.errors import UsageError

    ok = np.ones(16000, np.float32)
    with pytest.raises(ValueError, match="sample_rate 8000"):
        bench.evaluate(ok, ok, 8000)
    with pytest.raises(ValueError, match=r"degraded: expected a mono signal of shape \[T\], got shape \(2, 16000\)"):
        bench.evaluate(ok, np.ones((2, 16000)), 16000)
    with pytest.raises(UsageError, match="did you mean pesq_wb"):
        bench.evaluate(ok, ok, 16000, metrics=["pesq_wbb"])


def test_pesq_output_never_reaches_stdout():
    """pesq prints its usage text to stdout when asked for a rate it does not support; a metric plugin that
    declares such a rate gets NaN with the reason, and the caller's stdout holds only its own line."""
    code = r"""
import numpy as np, bench
from metrics import METRICS, Metric, MetricSpec
from pesq import pesq

class Pesq22k(Metric):
    spec = MetricSpec("pesq_22k", True, 22050, library="pesq")
    def compute(self, *, reference, degraded, sample_rate):
        return pesq(sample_rate, reference.astype(np.float64), degraded.astype(np.float64), "wb")

METRICS.register("pesq_22k", Pesq22k)
x = (0.1 * np.random.default_rng(0).standard_normal(32000)).astype(np.float32)
res = bench.evaluate(x, x, 16000, metrics=["pesq_22k", "snr"])
print("VALUE", res["pesq_22k"], "SNR", res["snr"], "ERROR", res.errors["pesq_22k"])
"""
    p = python(code)
    assert p.returncode == 0, p.stderr
    assert len(p.stdout.strip().splitlines()) == 1, p.stdout
    assert p.stdout.startswith("VALUE nan SNR 100.0 ERROR pesq_22k: ValueError: fs (sampling frequency) should be"), p.stdout
    assert "(printed: Run model on reference(ref) and degraded(deg))" in p.stdout  # pesq's text, kept


def test_captured_stdout_catches_c_level_writes(capfd):
    """The guard itself: a write to file descriptor 1 (as C code does) and a Python print are both kept."""
    import os

    from bench.quiet import captured_stdout

    with captured_stdout() as got:
        os.write(1, b"from C\n")
        print("from Python")
    print("after")
    assert got.text.splitlines() == ["from C", "from Python"]
    assert capfd.readouterr().out == "after\n"


@pytest.fixture(scope="module")
def api_run(tmp_path_factory) -> Path:
    """bench.run() from a plain session on two demo utterances."""
    need_libopus()
    base = tmp_path_factory.mktemp("api_run")
    manifest = demo_manifest(base / "manifest.csv", SUBSET[:2])
    code = f"""
import bench
out = bench.run(systems=["natural", "opus@12k"], data="manifest:{manifest}", out=r"{base / 'run'}",
                metrics=["si_sdr", "snr"], max_lag_ms=10, workers=1, report=False, quiet=True)
print(out)
"""
    p = python(code)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(base / "run")
    return base / "run"


def test_run_takes_the_cli_options(api_run):
    doc = json.loads((api_run / "run.json").read_text())
    assert doc["systems"]["opus@12k"]["options"]["kbps"] == 12
    assert doc["config"]["max_lag_ms"] == 10
    assert doc["config"]["options"]["systems"] == "natural,opus@12k"
    assert doc["config"]["options"]["report"] is False
    assert not (api_run / "report").exists()


def test_run_rejects_unknown_options_with_suggestions(tmp_path):
    import bench
    from bench.errors import UsageError

    with pytest.raises(UsageError, match=r"unknown option 'max_lag'; did you mean max_lag_ms"):
        bench.run(systems="natural", data="demo", out=tmp_path / "x", max_lag=5)
    with pytest.raises(UsageError, match="opus_application: 'music' is not one of"):
        bench.run(systems="opus", data="demo", out=tmp_path / "x", opus_application="music")
    assert not (tmp_path / "x").exists()


def test_load_results_matches_the_csv_files(api_run):
    import pandas as pd

    import bench

    results, summary = bench.load_results(api_run)
    with open(api_run / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(results.columns) == ["utterance", "speaker", "system", "metric", "value", "error"]
    assert len(results) == len(rows)
    by_key = {(r["utterance"], r["system"], r["metric"]): float(r["value"]) for r in rows}
    for r in results.itertuples():
        want = by_key[(r.utterance, r.system, r.metric)]
        assert (math.isnan(want) and math.isnan(r.value)) or want == r.value
    # the summary frame agrees with pandas' own mean over the long frame
    means = results.groupby(["system", "metric"])["value"].mean()
    for s in summary.itertuples():
        assert s.mean == pytest.approx(means[(s.system, s.metric)], nan_ok=True)
    hib = summary.set_index(["system", "metric"])["higher_is_better"]
    assert hib[("opus@12k", "si_sdr")] is True and hib[("opus@12k", "bitrate_kbps")] is None
    assert pd.api.types.is_float_dtype(results["value"])


def test_load_results_reads_a_run_in_progress_without_touching_it(api_run, tmp_path):
    """Only the log (a killed run, torn last line): rows are read, the file is left as it was."""
    import shutil

    import bench

    part = tmp_path / "partial"
    part.mkdir()
    log = (api_run / "results.jsonl").read_bytes()
    torn = log + b'{"utterance": "x", "sys'
    (part / "results.jsonl").write_bytes(torn)
    results, summary = bench.load_results(part)
    assert len(results) == len(log.splitlines())
    assert (part / "results.jsonl").read_bytes() == torn
    assert set(summary["system"]) == {"natural", "opus@12k"}
    shutil.rmtree(part)
    with pytest.raises(FileNotFoundError, match="not a run folder"):
        bench.load_results(tmp_path)


def test_registries_list_systems_and_metrics():
    import bench
    from metrics import METRICS

    metrics = bench.list_metrics()
    assert list(metrics["name"]) == METRICS.names()
    pesq = metrics.set_index("name").loc["pesq_wb"]
    assert pesq["sample_rate"] == 16000 and pesq["library"] == "pesq" and bool(pesq["available"])
    systems = bench.list_systems()
    assert {"natural", "opus", "scoredec"} <= set(systems["name"])
    assert bench.SYSTEMS is __import__("systems").SYSTEMS


def _python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.DOTALL)


def test_docs_example_runs_and_shows_what_it_prints(tmp_path):
    """docs/python_api.md's example, executed block by block in one fresh session in an empty folder;
    every output the page shows (``# ->`` lines) appears in what it printed."""
    need_libopus()
    doc = (REPO / "docs" / "python_api.md").read_text()
    blocks = _python_blocks(doc)
    assert blocks, "docs/python_api.md has no python example"
    p = python("\n".join(blocks), cwd=tmp_path, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    shown = [line.split("# ->", 1)[1].strip() for b in blocks for line in b.splitlines() if "# ->" in line]
    assert shown, "the example shows no output"
    for text in shown:
        assert text in p.stdout, f"docs show {text!r}; the example printed:\n{p.stdout}"


#: the cheap reference metrics, their unaligned twins, and the no-reference ones (scored as written)
SAME_AS_RUN = ("pesq_wb", "stoi", "si_sdr", "snr", "phase_distance", "lsd", "mel_distance", "mcd", "dnsmos",
               "distillmos")


def test_evaluate_returns_the_rows_of_a_run_on_the_same_pair(tmp_path):
    """A ``files:`` output 3 ms late (a non-zero lag): bench.evaluate on the run's reference and output
    gives exactly the run's row values, the no-reference metrics included (scored as written, not shifted)."""
    import soundfile as sf

    import bench
    from bench.runfolder.paths import RunDir
    from tests.conftest import run_bench

    data = demo_clips(tmp_path / "data", n=1, seconds=2.5)  # real speech; the cost grows with its length
    uid = next(data.glob("*.flac")).stem
    x, sr = sf.read(str(data / f"{uid}.flac"), dtype="float32")
    assert sr == 48000
    late = np.concatenate([np.zeros(144, np.float32), x[:-144]])
    late += 0.002 * np.random.default_rng(1).standard_normal(len(x)).astype(np.float32)
    (tmp_path / "late").mkdir()
    sf.write(tmp_path / "late" / f"{uid}.wav", late, 48000, subtype="FLOAT")
    out = tmp_path / "run"
    r = run_bench("run", "--systems", f"files:late={tmp_path / 'late'}", "--data", f"folder:{data}",
                  "--out", str(out), "--metrics", ",".join(SAME_AS_RUN), "--workers", "1", "--no-report")
    assert r.returncode == 0, r.stderr
    results = bench.load_results(out).results
    rows = dict(results[results.system == "files:late"][["metric", "value"]].itertuples(index=False))
    assert rows["lag_samples"] == 144.0
    rd = RunDir(out)
    ref, _ = sf.read(str(rd.reference_wav(uid)), dtype="float32")
    deg, _ = sf.read(str(rd.audio_wav("files:late", uid)), dtype="float32")
    res = bench.evaluate(ref, deg, 48000, metrics=list(SAME_AS_RUN))
    assert res.errors == {}
    assert set(res) == set(rows) - {"bitrate_kbps"}
    assert {m: res[m] for m in res} == {m: rows[m] for m in res}  # exactly


def test_run_is_the_cli_run_without_the_command_line(tmp_path):
    """bench.run() builds the same typed options as `bench run` and gives the same rows and recorded options,
    without loading the command-line modules (argparse parsers, bench.commands)."""
    from tests.conftest import run_bench

    manifest = demo_manifest(tmp_path / "manifest.csv", SUBSET[:1])
    code = f"""
import sys, bench
bench.run(systems=["natural", "anchor35"], data="manifest:{manifest}", out=r"{tmp_path / 'api'}",
          metrics=["si_sdr", "snr"], workers=1, report=False, quiet=True, align="utterance", max_lag_ms=5)
print(sorted(m for m in sys.modules if m.startswith("bench.commands") or m == "bench.cli"))
"""
    p = python(code)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"
    r = run_bench("run", "--systems", "natural,anchor35", "--data", f"manifest:{manifest}", "--out",
                  str(tmp_path / "cli"), "--metrics", "si_sdr,snr", "--workers", "1", "--no-report", "--quiet",
                  "--align", "utterance", "--max-lag-ms", "5")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "api" / "results.csv").read_text() == (tmp_path / "cli" / "results.csv").read_text()
    api, cli = (json.loads((tmp_path / d / "run.json").read_text())["config"]["options"] for d in ("api", "cli"))
    assert {**api, "out": ""} == {**cli, "out": ""}
    assert api["systems"] == "natural,anchor35" and api["align"] == "utterance" and api["max_lag_ms"] == 5.0


def test_run_options_declare_what_the_command_line_does():
    """RunOptions (the typed options both entries build) has every `bench run` option, with its default
    and choices: one list, kept equal to the parser."""
    import dataclasses

    from bench.commands.run import standalone_parser
    from bench.config_file import option_actions
    from bench.run_options import RunOptions

    actions = option_actions(standalone_parser())
    fields = {f.name: f for f in dataclasses.fields(RunOptions)}
    assert list(fields) == list(actions)  # the same options in the same order (run.json, --print-config)
    for name, f in fields.items():
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        assert actions[name].default == default, name
        assert tuple(actions[name].choices or ()) == tuple(f.metadata.get("choices", ())), name


def test_run_keywords_are_checked_like_flags(tmp_path):
    from bench.errors import UsageError
    from bench.run_options import RunOptions

    opts = RunOptions.from_keywords({"systems": ["opus@12k", "natural"], "max-lag-ms": "10", "align": False,
                                     "checkpoint": {"symad": "x.pt"}, "limit": 2.0, "out": "o"})
    assert (opts.systems, opts.max_lag_ms, opts.align, opts.limit) == ("opus@12k,natural", 10.0, "none", 2)
    assert opts.checkpoint == [("symad", Path("x.pt"))] and opts.out == Path("o")
    for bad, message in [({"limit": 2.5}, "limit: invalid int"), ({"sample_rate": 22050}, "is not one of"),
                         ({"strict": "yes"}, "expected true or false"), ({"data": ["a", "b"]}, "got a list"),
                         ({"checkpoint": ["symad"]}, "expected NAME=PATH")]:
        with pytest.raises(UsageError, match=message):
            RunOptions.from_keywords(bad, source="bench.run()")
    config = tmp_path / "run.yaml"
    config.write_text("systems: natural\nmax_lag_ms: 3\n")
    opts = RunOptions.from_keywords({"config": str(config), "max_lag_ms": 7})
    assert (opts.systems, opts.max_lag_ms) == ("natural", 7.0)  # keywords over the file


def test_evaluate_on_a_silent_output_says_so():
    """PESQ and the lag of an all-zero output are NaN with "silent output", not a library error or the edge
    of the lag search window, under both alignment policies."""
    import soundfile as sf

    import bench
    from bench.corpora import DEMO_DIR

    x, sr = sf.read(DEMO_DIR / "demo_f_001.flac", dtype="float32")
    for align in ("system", "utterance"):
        r = bench.evaluate(x, np.zeros_like(x), sr, metrics=["pesq_wb"], align=align)
        assert math.isnan(r["pesq_wb"]) and "silent output" in r.errors["pesq_wb"], r.errors
        assert math.isnan(r["lag_samples"]) and "silent output" in r.errors["lag_samples"], r.errors


def test_a_missing_run_folder_is_named(tmp_path):
    missing = tmp_path / "runs" / "doesnotexist"
    (tmp_path / "runs").mkdir()
    for args in (["listen", "build", str(missing)], ["merge", str(missing), str(tmp_path / "runs"), "--out", str(tmp_path / "m")]):
        r = run_bench(*args)
        assert r.returncode == 2 and f"{missing}: no such folder" in r.stderr, r.stderr


def test_a_module_of_the_users_named_like_a_suite_package_is_reported(tmp_path):
    """A ``metrics.py`` in the user's folder would hide the suite's ``metrics`` package: ``import bench`` says
    which file and what to do, instead of a confusing ImportError deep inside ``bench.evaluate``."""
    import os

    (tmp_path / "metrics.py").write_text("THRESHOLD = 3.0\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    code = "import bench, numpy as np; x = np.random.default_rng(0).standard_normal(16000); bench.evaluate(x, x, 16000, metrics=['si_sdr'])"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
                       timeout=120, check=False)
    last = r.stderr.strip().splitlines()[-1]
    assert r.returncode == 1 and last.startswith("bench.ShadowedPackageError: "), r.stderr
    assert f"{tmp_path / 'metrics.py'} hides codec-bench's own 'metrics' package" in last
    assert "Rename it (e.g. my_metrics.py) or run from another folder" in last
    (tmp_path / "metrics.py").rename(tmp_path / "my_metrics.py")  # the fix works
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
                       timeout=120, check=False)
    assert r.returncode == 0, r.stderr
