"""`bench run --config FILE.yaml`, `--print-config`, and the messages a newcomer meets first."""

from __future__ import annotations

import json

import yaml

from tests.conftest import SUBSET, demo_manifest, need_libopus, run_bench


def test_print_config_merges_file_and_flags(tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump({"systems": ["natural", "opus"], "data": "demo", "out": str(tmp_path / "r"),
                                   "limit": 3, "max-lag-ms": 5, "align": "utterance",
                                   "checkpoint": {"symad": str(cfg)}}))
    p = run_bench("run", "--config", str(cfg), "--limit", "1", "--print-config")
    assert p.returncode == 0, p.stderr
    effective = yaml.safe_load(p.stdout)
    assert effective["systems"] == "natural,opus"
    assert effective["limit"] == 1  # the flag overrides the file
    assert effective["max_lag_ms"] == 5.0 and effective["align"] == "utterance"
    assert effective["checkpoint"] == [f"symad={cfg}"]
    assert effective["sample_rate"] == 48000  # defaults are part of the effective configuration
    assert "opus_bitrate" not in effective  # deprecated flags only when given
    assert not (tmp_path / "r").exists()  # printing runs nothing
    # what it prints is a configuration that reproduces itself
    again = tmp_path / "again.yaml"
    again.write_text(p.stdout)
    q = run_bench("run", "--config", str(again), "--print-config")
    assert q.returncode == 0, q.stderr
    assert yaml.safe_load(q.stdout) == effective


def test_unknown_and_bad_keys_are_usage_errors(tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("systems: natural\ndata: demo\nout: x\nmax_lag: 5\n")
    p = run_bench("run", "--config", str(cfg))
    assert p.returncode == 2
    assert f"--config {cfg}: unknown option 'max_lag'; did you mean max_lag_ms" in p.stderr
    cfg.write_text("systems: natural\ndata: demo\nout: x\nlimit: many\n")
    p = run_bench("run", "--config", str(cfg))
    assert p.returncode == 2 and "limit: invalid literal for int() with base 10: 'many'" in p.stderr
    cfg.write_text("systems: natural\nalign: sideways\n")
    p = run_bench("run", "--config", str(cfg))
    assert p.returncode == 2 and "align: 'sideways' is not one of system, utterance, none" in p.stderr
    cfg.write_text("systems: natural\nstrict: yes please\n")
    p = run_bench("run", "--config", str(cfg))
    assert p.returncode == 2 and "strict: expected true or false" in p.stderr
    cfg.write_text("- a list\n")
    p = run_bench("run", "--config", str(cfg))
    assert p.returncode == 2 and "expected a mapping" in p.stderr
    p = run_bench("run", "--config", str(tmp_path / "missing.yaml"))
    assert p.returncode == 2 and "missing.yaml" in p.stderr


def test_run_json_records_the_effective_configuration(tmp_path):
    need_libopus()
    manifest = demo_manifest(tmp_path / "m.csv", SUBSET[:1])
    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump({"systems": ["natural"], "data": f"manifest:{manifest}", "out": str(tmp_path / "r"),
                                   "metrics": ["snr"], "workers": 1, "report": False, "quiet": True}))
    printed = run_bench("run", "--config", str(cfg), "--max-lag-ms", "7", "--print-config")
    p = run_bench("run", "--config", str(cfg), "--max-lag-ms", "7")
    assert p.returncode == 0, p.stderr
    doc = json.loads((tmp_path / "r" / "run.json").read_text())
    assert doc["config"]["options"] == yaml.safe_load(printed.stdout)
    assert doc["config"]["max_lag_ms"] == 7.0


def test_missing_out_is_one_line(tmp_path):
    p = run_bench("run", "--systems", "natural", "--data", "demo")
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        "bench run: error: --out is required (on the command line or in --config)"]


def test_bare_data_path_suggests_folder(tmp_path):
    p = run_bench("run", "--systems", "natural", "--data", str(tmp_path), "--out", str(tmp_path / "r"))
    assert p.returncode == 2
    assert f"--data folder:{tmp_path}" in p.stderr
    csv_path = tmp_path / "list.csv"
    csv_path.write_text("id,path\n")
    p = run_bench("run", "--systems", "natural", "--data", str(csv_path), "--out", str(tmp_path / "r"))
    assert p.returncode == 2 and f"--data manifest:{csv_path}" in p.stderr


def test_systems_listing_comes_from_the_registry_without_importing_systems():
    """`bench systems --no-check` lists every system and composition from registry metadata; neither torch
    nor any system module is imported (the full `bench systems` then checks each one). The base classes
    and the option grammar (standard library only) are the registry's own modules."""
    from tests.test_python_api import python

    p = python("import sys\nfrom bench.cli import main\nmain(['systems', '--no-check'])\n"
               "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('systems.') and m not in ('systems.base', 'systems.options')))")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert lines[-1] == "[]"
    from systems import COMPOSITES, SYSTEMS

    names = {ln.split()[0] for ln in lines if ln.strip() and not ln[0].isspace() and not ln.startswith(("(", "also", "["))}
    assert names == {*SYSTEMS.names(), *COMPOSITES}
    assert any(ln.startswith("scoredec") and "(= audiodec_stage1+spf)" in ln for ln in lines)


def test_rerunning_a_finished_run_keeps_its_report(tmp_path):
    """The second identical `bench run` reuses the report; new results rebuild it."""
    manifest = demo_manifest(tmp_path / "m.csv", SUBSET[:1])
    args = ["run", "--systems", "natural", "--data", f"manifest:{manifest}", "--out", str(tmp_path / "r"),
            "--workers", "1"]
    first = run_bench(*args, "--metrics", "snr")
    assert first.returncode == 0, first.stderr
    index = tmp_path / "r" / "report" / "index.html"
    built = index.stat().st_mtime_ns
    again = run_bench(*args, "--metrics", "snr")
    assert again.returncode == 0, again.stderr
    assert f"report: {index} (unchanged)" in again.stdout
    assert index.stat().st_mtime_ns == built
    more = run_bench(*args, "--metrics", "snr,si_sdr")
    assert more.returncode == 0, more.stderr
    assert f"report: {index}\n" in more.stdout and "si_sdr" in index.read_text()
