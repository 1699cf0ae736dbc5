"""Per-system options: the spec grammar, its errors, `bench systems NAME`, and instances side by side."""

from __future__ import annotations

import json

import pytest
from conftest import SUBSET, demo_manifest, need_libopus, read_rows, run_bench, values

from systems import RunSettings, build_system, split_list
from systems.options import OptionError


def test_commas_inside_brackets_do_not_split_the_list():
    assert split_list("opus@12k,opus[kbps=12,application=voip],files:mine=/x+spf[steps=8,sampler=ode],natural") == [
        "opus@12k", "opus[kbps=12,application=voip]", "files:mine=/x+spf[steps=8,sampler=ode]", "natural"]
    with pytest.raises(OptionError, match="without a matching"):
        split_list("opus[kbps=12,natural")


@pytest.mark.parametrize(("spec", "name", "kbps", "application"), [
    ("opus", "opus", 24.0, "audio"),
    ("opus@12k", "opus@12k", 12.0, "audio"),
    ("opus@12", "opus@12k", 12.0, "audio"),
    ("opus@12.5kbps", "opus@12.5k", 12.5, "audio"),
    ("opus[kbps=12]", "opus@12k", 12.0, "audio"),
    ("opus[application=voip,kbps=12]", "opus@12k[application=voip]", 12.0, "voip"),
])
def test_opus_specs_parse_to_canonical_names(spec, name, kbps, application):
    need_libopus()
    system = build_system(spec, RunSettings())
    assert system.name == name
    assert (system.options.kbps, system.options.application) == (kbps, application)
    assert system.provenance()["bitrate"] == round(kbps * 1000)
    assert system.nominal_kbps == kbps


def test_composition_names_and_family():
    need_libopus()
    s = build_system("opus@12k+spf[steps=8]", RunSettings())
    assert s.name == "opus@12k+spf[steps=8]"
    assert s.family == "opus+spf[steps=8]"
    assert s.postfilters[0].options.steps == 8 and s.codec.options.kbps == 12.0
    assert s.option_values()["spf.steps"] == 8 and s.option_values()["kbps"] == 12.0
    # the paper's systems keep their names and defaults
    assert build_system("opus_spf", RunSettings()).name == "opus_spf"
    assert build_system("opus", RunSettings()).options.kbps == 24.0


@pytest.mark.parametrize(("spec", "message"), [
    ("opus[kbs=12]", "no option 'kbs'; did you mean kbps?"),
    ("opus[application=vop]", "must be one of audio, voip, lowdelay; did you mean voip?"),
    ("opus@1000k", "kbps=1000k: outside 6-510 kbps"),
    ("opus@fast", "expected a number of kbps"),
    ("opus:12000", "opus@VALUE (sets kbps)"),
    ("natural@12k", "natural has no @VALUE form"),
    ("opus[kbps=12", "options go last"),
    ("opus[kbps=12,kbps=6]", "set twice"),
    ("spf", "spf is a post-filter; it follows a system"),
    ("opus+spf[stpes=8]", "did you mean steps?"),
])
def test_bad_specs_say_what_would_work(spec, message):
    need_libopus()
    with pytest.raises(ValueError, match=None) as exc:
        build_system(spec, RunSettings())
    assert message in str(exc.value)


def test_unknown_system_suggests_close_names():
    from bench.registry import RegistryError

    with pytest.raises(RegistryError, match="did you mean opus"):
        build_system("opsu@12k", RunSettings())


def test_bench_systems_name_prints_the_options():
    r = run_bench("systems", "opus")
    assert r.returncode == 0, r.stderr
    assert "kbps" in r.stdout and "default 24 kbps" in r.stdout and "6-510 kbps" in r.stdout
    assert "one of audio, voip, lowdelay" in r.stdout
    r = run_bench("systems", "opus_spf")
    assert "spf options" in r.stdout and "steps" in r.stdout
    r = run_bench("systems", "opsu")
    assert r.returncode == 2 and "did you mean opus" in r.stderr


def test_bench_systems_spec_prints_what_a_run_would_use():
    """A full spec is built and each stage's effective options printed (spec'd values and defaults)."""
    need_libopus()
    r = run_bench("systems", "opus@12k[application=voip]+spf[steps=4]")
    assert r.returncode == 0, r.stderr
    assert "opus: kbps=12.0, application=voip" in r.stdout
    assert "spf: sampler=none, steps=4, snr=none" in r.stdout
    assert "12 kbps nominal" in r.stdout
    r = run_bench("systems", "opus@2k")
    assert r.returncode == 2 and "outside 6-510 kbps" in r.stderr
    r = run_bench("systems", "opsu@12k")
    assert r.returncode == 2 and "did you mean opus" in r.stderr


def test_two_opus_bitrates_in_one_run(tmp_path):
    """Two instances of one system: own folders, own rows, own options in run.json; reuse names the diff."""
    need_libopus()
    manifest = demo_manifest(tmp_path / "m.csv", SUBSET[:1])
    out = tmp_path / "run"
    r = run_bench("run", "--systems", "opus@6k,opus[kbps=24,application=voip]", "--data", f"manifest:{manifest}",
                  "--out", str(out), "--metrics", "si_sdr", "--no-report", "--workers", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    assert (out / "audio" / "opus@6k" / f"{SUBSET[0]}.wav").is_file()
    assert (out / "audio" / "opus@24k_application=voip_" / f"{SUBSET[0]}.wav").is_file()
    rows = read_rows(out / "results.csv")
    low, high = values(rows, "opus@6k", "bitrate_kbps"), values(rows, "opus@24k[application=voip]", "bitrate_kbps")
    assert 5.0 < low[0] < 7.5 and 22.0 < high[0] < 26.0
    assert values(rows, "opus@6k", "si_sdr")[0] < values(rows, "opus@24k[application=voip]", "si_sdr")[0]
    doc = json.loads((out / "run.json").read_text())
    assert doc["systems"]["opus@6k"]["options"] == {"kbps": 6.0, "application": "audio"}
    assert doc["systems"]["opus@6k"]["family"] == "opus"
    assert doc["systems"]["opus@24k[application=voip]"]["family"] == "opus[application=voip]"

    # the same folder with a system whose options differ: refused, naming only the differing option
    r = run_bench("run", "--systems", "opus@6k", "--data", f"manifest:{manifest}", "--out", str(out),
                  "--metrics", "si_sdr", "--no-report", "--workers", "1", "--quiet", "--opus-application", "lowdelay")
    assert r.returncode == 2
    assert "opus@6k: application audio -> lowdelay" in r.stderr and "kbps" not in r.stderr.split("->")[0]
    assert "--opus-application is deprecated" in r.stderr and "opus[application=lowdelay]" in r.stderr


def test_same_instance_twice_is_refused(tmp_path):
    need_libopus()
    r = run_bench("run", "--systems", "opus@12k,opus[kbps=12]", "--data", "demo", "--out", str(tmp_path / "r"))
    assert r.returncode == 2 and "same system twice: opus@12k" in r.stderr


def test_files_folder_may_hold_plus_and_at(tmp_path):
    folder = tmp_path / "out+v2@6k"
    folder.mkdir()
    s = build_system(f"files:mine={folder}+spf", RunSettings())
    assert s.name == "files:mine+spf" and s.codec.directory == folder
    assert build_system(f"files:mine={folder}", RunSettings()).directory == folder
