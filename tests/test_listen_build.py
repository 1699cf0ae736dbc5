"""``bench listen build``: item choice, excerpts, fades, loudness matching, definition and webMUSHRA YAML."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
import soxr
import yaml

from bench.cli import main as bench_main
from bench.runfolder import read_manifest, write_manifest
from listening_test.build import BuildOptions, build_test
from listening_test.definition import TestDefinition
from listening_test.stimuli import apply_fades, choose_excerpt, loudness, match_loudness
from tests.listen_util import make_run_folder, speech_like


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return make_run_folder(tmp_path_factory.mktemp("run"), n_utts=8, seconds=3.0, speakers=2)


@pytest.fixture(scope="module")
def mushra(run_dir, tmp_path_factory) -> tuple[Path, TestDefinition]:
    out = tmp_path_factory.mktemp("mushra")
    assert bench_main(["listen", "build", str(run_dir), "--type", "mushra", "--seconds", "2.5", "--out", str(out)]) == 0
    return out, TestDefinition.load(out)


def test_items_are_balanced_and_conditions_complete(mushra):
    _out, d = mushra
    assert d.systems == ["noisy", "muffled"]  # natural duplicates the hidden reference
    tests = [it for it in d.items if it.id != d.training]
    assert len(tests) == 5  # max(5, 1.5 x 2 systems)
    speakers = [it.speaker for it in tests]
    assert abs(speakers.count("p0") - speakers.count("p1")) <= 1
    assert d.training not in {t.item for t in d.trials} and len({it.utterance for it in d.items}) == 6
    for it in d.items:
        assert sorted(s.system for s in it.stimuli) == ["anchor35", "anchor70", "muffled", "noisy", "reference"]
        assert all(s.id not in ("reference", "noisy") and s.system not in s.file for s in it.stimuli)


def test_audio_is_48k_pcm16_same_length_faded_and_loudness_matched(mushra):
    out, d = mushra
    meter = pyloudnorm.Meter(48000)
    for it in d.items:
        lengths, levels = set(), []
        for rel in [it.reference, *(s.file for s in it.stimuli)]:
            info = sf.info(out / rel)
            assert (info.samplerate, info.channels, info.subtype) == (48000, 1, "PCM_16")
            x, _ = sf.read(out / rel)
            lengths.add(len(x))
            levels.append(meter.integrated_loudness(x))
            assert abs(x[0]) < 1e-3 and abs(x[-1]) < 1e-3 and np.abs(x).max() <= 10 ** (-1 / 20) + 1e-4
        assert len(lengths) == 1 and next(iter(lengths)) / 48000 <= 2.5
        assert max(levels) - min(levels) < 0.1
        assert abs(np.mean(levels) + 26) < 0.2


def test_webmushra_yaml_points_at_the_same_files(mushra):
    out, d = mushra
    cfg = yaml.safe_load((out / "webmushra.yaml").read_text())
    trials = next(p for p in cfg["pages"] if isinstance(p, list))
    assert [p["id"] for p in trials] == [t.id for t in d.trials]
    for page in trials:
        assert page["createAnchor35"] is False and page["createAnchor70"] is False
        assert set(page["stimuli"]) == {"noisy", "muffled", "anchor35", "anchor70"}
        for path in [page["reference"], *page["stimuli"].values()]:
            assert (out / path).is_file()


def test_mos_build_has_one_trial_per_stimulus(run_dir, tmp_path):
    d = build_test(BuildOptions(run_dir=run_dir, out=tmp_path, type="mos", items=3, seconds=2.0))
    tests = [it for it in d.items if it.id != d.training]
    assert len(d.trials) == 3 * 3 and all(len(t.stimuli) == 1 for t in d.trials)
    assert {s.system for it in tests for s in it.stimuli} == {"reference", "noisy", "muffled"}
    assert any("recommends at least 5" in n for n in d.notes)
    assert json.loads((tmp_path / "test.json").read_text())["version"] == 1


def test_refusals_name_the_problem(run_dir, tmp_path, capsys):
    assert bench_main(["listen", "build", str(run_dir), "--seconds", "13", "--out", str(tmp_path / "a")]) == 2
    assert "12 s" in capsys.readouterr().err
    assert bench_main(["listen", "build", str(run_dir), "--systems", "nope", "--out", str(tmp_path / "b")]) == 2
    assert "nope not in this run" in capsys.readouterr().err
    assert bench_main(["listen", "build", str(tmp_path), "--out", str(tmp_path / "c")]) == 2
    assert "no run.json" in capsys.readouterr().err
    served = tmp_path / "served"
    served.mkdir()
    (served / "results.sqlite").write_bytes(b"")
    assert bench_main(["listen", "build", str(run_dir), "--out", str(served)]) == 2
    assert "holds the results of a served test" in capsys.readouterr().err
    run = read_manifest(run_dir)
    run.systems = {f"sys{i}": {"audio_dir": f"sys{i}"} for i in range(10)}
    bad = tmp_path / "many"
    bad.mkdir()
    write_manifest(bad, run)
    assert bench_main(["listen", "build", str(bad), "--out", str(tmp_path / "d")]) == 2
    assert "at most 12" in capsys.readouterr().err


def test_excerpt_ends_in_a_pause_and_loudness_has_a_peak_guard():
    x = speech_like(6.0, seed=3).astype(np.float64)
    start, end = choose_excerpt(x, 48000, 4.0)
    assert end - start <= 4 * 48000
    frame = x[end - 240:end + 240]
    assert np.sqrt(np.mean(frame ** 2)) < 0.05 * np.sqrt(np.mean(x ** 2))  # cut in a quiet stretch
    faded = apply_fades(x[start:end], 48000)
    assert faded[0] == pytest.approx(0, abs=1e-3) and faded[-1] == pytest.approx(0, abs=1e-3)
    spiky = np.zeros(48000)
    spiky[::4800] = 1.0
    spiky += 0.01 * np.sin(np.arange(48000) * 0.05)
    scaled, _, _gains = match_loudness({"a": x[:48000], "b": spiky}, 48000, -10.0)
    assert np.abs(scaled["b"]).max() <= 10 ** (-1 / 20) + 1e-9
    la, lb = loudness(scaled["a"], 48000), loudness(scaled["b"], 48000)
    assert la == pytest.approx(lb, abs=0.01) and la < -10.5  # common target lowered for the spiky signal
    with pytest.raises(ValueError, match="silent"):
        match_loudness({"quiet": np.zeros(48000)}, 48000, -26.0)


def test_missing_anchors_are_made_by_the_registered_zero_phase_systems(tmp_path):
    run = make_run_folder(tmp_path / "run", n_utts=3, seconds=3.0, with_anchors=False)
    d = build_test(BuildOptions(run_dir=run, out=tmp_path / "t", type="mushra", items=2, seconds=2.5))
    item = d.items[0]
    files = {s.system: sf.read(tmp_path / "t" / s.file)[0] for s in item.stimuli}
    ref, low, mid = files["reference"], files["anchor35"], files["anchor70"]

    def band_db(x: np.ndarray, lo: float, hi: float = 24000) -> float:
        spec = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(len(x), 1 / 48000)
        return 10 * np.log10(spec[(f >= lo) & (f < hi)].sum() + 1e-20)

    assert band_db(ref, 4500) - band_db(low, 4500) > 40  # 3.5 kHz anchor: stop band from 4.5 kHz
    assert band_db(ref, 4500, 6500) - band_db(mid, 4500, 6500) == pytest.approx(0, abs=0.5)  # 7 kHz keeps it
    lags = range(-48, 49)
    xc = [np.dot(low[48 + k:len(low) - 48 + k], ref[48:len(ref) - 48]) for k in lags]
    assert lags[int(np.argmax(xc))] == 0  # time-aligned with the reference (zero phase)


def test_import_webmushra_config_round_trip(mushra, tmp_path, capsys):
    out, d = mushra
    assert bench_main(["listen", "import", str(out / "webmushra.yaml"), "--out", str(tmp_path / "again")]) == 0
    again = TestDefinition.load(tmp_path / "again")
    assert len(again.trials) == len(d.trials) + 1  # the training page is a mushra page too
    assert sorted(again.systems) == ["muffled", "noisy"]
    assert all(sorted(s.system for s in it.stimuli) == ["anchor35", "anchor70", "muffled", "noisy", "reference"]
               for it in again.items)


def test_import_webmushra_layout_resamples_and_makes_compliant_anchors(tmp_path, capsys):
    root = tmp_path / "webMUSHRA"
    audio = root / "configs" / "resources" / "audio"
    audio.mkdir(parents=True)
    pages = []
    for n in range(2):
        x44 = soxr.resample(speech_like(2.0, seed=10 + n), 48000, 44100)
        sf.write(audio / f"ref{n}.wav", x44, 44100)
        sf.write(audio / f"codec{n}.wav", 0.5 * x44, 44100)
        pages.append({"type": "mushra", "id": f"t{n}", "reference": f"configs/resources/audio/ref{n}.wav",
                      "createAnchor35": True, "createAnchor70": True,
                      "stimuli": {"codec": f"configs/resources/audio/codec{n}.wav"}})
    config = root / "configs" / "mine.yaml"
    config.write_text(yaml.safe_dump({"testname": "Mine", "pages": [{"type": "generic"}, pages]}))
    assert bench_main(["listen", "import", str(config), "--out", str(tmp_path / "t")]) == 0
    d = TestDefinition.load(tmp_path / "t")
    assert d.title == "Mine" and d.systems == ["codec"] and len(d.trials) == 2
    assert [it.id for it in d.items] == ["t0", "t1"] and d.training == "t0"  # the pages' own ids, not renumbered
    for it in d.items:
        assert {s.system for s in it.stimuli} == {"reference", "codec", "anchor35", "anchor70"}
        assert all(sf.info(tmp_path / "t" / s.file).samplerate == 48000 for s in it.stimuli)
    sf.write(audio / "codec1.wav", np.zeros(1000), 44100)
    assert bench_main(["listen", "import", str(config), "--out", str(tmp_path / "u")]) == 2
    assert "differ in length" in capsys.readouterr().err


def test_a_run_evaluated_at_16k_becomes_a_48k_test_of_its_own_audio(tmp_path):
    """``bench run --sample-rate 16000`` keeps 16 kHz WAVs; the test plays them at 48 kHz, resampled, and says so."""
    from systems import SYSTEMS, RunSettings

    if SYSTEMS.get("opus").unavailable_reason(RunSettings()):
        pytest.skip("opus unavailable")
    run = tmp_path / "run16"
    assert bench_main(["run", "--systems", "natural,opus,anchor35,anchor70", "--data", "demo", "--limit", "3",
                       "--sample-rate", "16000", "--metrics", "snr", "--no-report", "--quiet", "--out", str(run)]) == 0
    d = build_test(BuildOptions(run_dir=run, out=tmp_path / "t", type="mushra", items=2, seconds=2.5))
    assert any("evaluated at 16000 Hz" in n for n in d.notes)
    assert any("anchor70" in n and "close to the hidden reference" in n for n in d.notes)
    for it in d.items:
        files = {s.system: tmp_path / "t" / s.file for s in it.stimuli}
        assert {sf.info(f).samplerate for f in files.values()} == {48000}
        ref = sf.read(files["reference"])[0]
        spec = np.abs(np.fft.rfft(ref)) ** 2
        above = spec[np.fft.rfftfreq(len(ref), 1 / 48000) > 8500].sum() / spec.sum()
        assert 10 * np.log10(above) < -50  # the run's 16 kHz reference, not the 48 kHz original
        # the hidden reference is the run's own reference WAV, resampled: same waveform up to gain and fades
        src, sr = sf.read(run / "reference" / f"{it.utterance}.wav")
        assert sr == 16000
        up = soxr.resample(src, 16000, 48000, quality="VHQ")
        start = round(it.start_s * 48000)
        mid = slice(4800, len(ref) - 4800)  # away from the fades
        seg = up[start:start + len(ref)][mid]
        assert np.corrcoef(seg, ref[mid])[0, 1] > 0.999
