"""DNSMOS and DistillMOS: equal to the packages' own inference, sensible on the demo corpus, and scored
without a reference (no alignment, no reference read; the reference itself scored once)."""

from __future__ import annotations

import dataclasses
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SUBSET, demo_manifest, read_rows, values

from bench.audio import SAMPLE_RATE, load_input, resample
from bench.corpora import CorpusOptions, open_corpus
from bench.metric_stage import PairJob, evaluate_pair
from bench.runfolder.wav import write_run_wav
from metrics import METRICS
from systems.anchors import lowpass_zero_phase

DNSMOS = ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808")


@pytest.fixture(scope="module")
def demo16() -> dict[str, np.ndarray]:
    """Three demo utterances at 48 kHz (the run's own resampling is applied by the callers)."""
    utts = {u.id: u for u in open_corpus("demo", CorpusOptions()).utterances()}
    return {k: load_input(utts[k].path).audio for k in SUBSET[:3]}


def at16(x: np.ndarray) -> np.ndarray:
    return resample(x, SAMPLE_RATE, 16000).astype(np.float32)


def test_dnsmos_equals_speechmos(demo16):
    """Same ONNX graphs, same float32 inputs and features: equal up to 1e-6 (only onnxruntime's thread
    count differs: speechmos uses its default, the suite one thread per worker)."""
    pytest.importorskip("requests")  # speechmos' module imports it
    from speechmos import dnsmos as theirs

    from metrics.dnsmos import dnsmos_models

    for utt, x in demo16.items():
        clip = at16(x)
        ours = dnsmos_models().scores(clip)
        ref = theirs.run(clip, 16000)
        for part in ("sig", "bak", "ovrl", "p808"):
            assert ours[part] == pytest.approx(float(ref[f"{part}_mos"]), abs=1e-6), (utt, part)
    # a 2 s clip is tiled to 16 s: 7 windows, of which only 2 differ (they repeat with the clip's 2 s period);
    # each distinct window is scored once, and the means over all 7 equal speechmos'
    short = at16(next(iter(demo16.values())))[: 2 * 16000]
    models = dnsmos_models()
    passes = []
    p835 = models.p835
    models.p835 = type("Counting", (), {"run": lambda self, *a: passes.append(1) or p835.run(*a)})()
    try:
        ours = models.scores(short)
    finally:
        models.p835 = p835
    ref = theirs.run(short, 16000)
    assert len(passes) == 2
    for part in ("sig", "bak", "ovrl", "p808"):
        assert ours[part] == pytest.approx(float(ref[f"{part}_mos"]), abs=1e-6), part
    long_clip = at16(np.concatenate(list(demo16.values())))  # > 9.01 s: several windows
    assert len(long_clip) > 11 * 16000
    ours, ref = dnsmos_models().scores(long_clip), theirs.run(long_clip, 16000)
    assert ours["ovrl"] == pytest.approx(float(ref["ovrl_mos"]), abs=1e-6)
    assert ours["p808"] == pytest.approx(float(ref["p808_mos"]), abs=1e-6)


@pytest.fixture
def package_distillmos(monkeypatch):
    """The distillmos package's own model, imported with a stand-in module in place of torchaudio
    (its module imports torchaudio only for command-line file reading, which is not used here)."""
    pytest.importorskip("xls_r_sqa")
    monkeypatch.setitem(sys.modules, "torchaudio", types.ModuleType("torchaudio"))
    for name in [m for m in sys.modules if m == "distillmos" or m.startswith("distillmos.")]:
        monkeypatch.delitem(sys.modules, name)
    import distillmos

    return distillmos.ConvTransformerSQAModel().eval()


def test_distillmos_equals_the_package_model(package_distillmos, demo16, torch_one_thread):
    """Same parameter names (strict load) and the same outputs within 1e-5 MOS, for a clip shorter than one
    7.68 s crop (zero-padded) and one longer (crops averaged, scored in groups of CROPS_PER_BATCH).
    The tolerance covers float32 summation order only."""
    from metrics.distillmos import CROP, CROPS_PER_BATCH, MAX_CROP_HOP, DistillMos

    ours = DistillMos.from_package()
    theirs_keys = set(package_distillmos.state_dict())
    assert set(ours.state_dict()) == theirs_keys
    clips = [at16(next(iter(demo16.values()))), at16(np.concatenate(list(demo16.values())))]
    assert len(clips[0]) < CROP < len(clips[1])
    assert np.ceil((len(clips[1]) - CROP) / MAX_CROP_HOP) + 1 > CROPS_PER_BATCH  # two groups at least
    with torch.inference_mode():
        batch = torch.from_numpy(clips[0])[None]
        assert float(ours.predict(batch)[0]) == pytest.approx(float(package_distillmos(batch)[0, 0]), abs=1e-5)
        batch = torch.from_numpy(clips[1])[None]
        assert float(ours.predict(batch)[0]) == pytest.approx(float(package_distillmos(batch)[0, 0]), abs=1e-5)


def _score(name: str, x48: np.ndarray) -> float:
    metric = METRICS.get(name)()
    return metric.compute(reference=None, degraded=at16(x48), sample_rate=16000)


def test_clean_speech_scores_above_noisy_speech_and_the_35_anchor(demo16):
    """On three demo utterances, clean speech scores above the same speech with white noise at 0 dB SNR
    (P.835 SIG left out: it rates the speech itself, not the background, and rose with noise here) and,
    for P.808 and DistillMOS, above the 3.5 kHz anchor (P.835 SIG/BAK/OVRL barely move under band
    limitation of this synthetic speech; see README)."""
    rng = np.random.default_rng(0)
    noise = {k: rng.standard_normal(len(x)).astype(np.float32) for k, x in demo16.items()}
    for name in ("dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808", "distillmos"):
        clean, noisy, anchor = [], [], []
        for k, x in demo16.items():
            n = noise[k] * np.sqrt(np.mean(x**2) / np.mean(noise[k] ** 2))  # 0 dB SNR
            clean.append(_score(name, x))
            noisy.append(_score(name, np.clip(x + n, -1, 1)))
            if name in ("dnsmos_p808", "distillmos"):
                anchor.append(_score(name, lowpass_zero_phase(x, 3500.0).astype(np.float32)))
        assert np.mean(clean) > np.mean(noisy) + 0.2, (name, clean, noisy)
        if anchor:
            assert np.mean(clean) > np.mean(anchor) + 0.1, (name, clean, anchor)


def test_no_reference_read_and_no_alignment(tmp_path, demo16):
    """A metric that needs no reference scores the output as written, even when the reference is missing,
    and a delayed output is not shifted back before scoring."""
    x = next(iter(demo16.values()))
    delayed = np.concatenate([np.zeros(480, np.float32), x[:-480]])
    write_run_wav(tmp_path / "out.wav", delayed)
    job = PairJob("u", "s", "sys", str(tmp_path / "missing.wav"), str(tmp_path / "out.wav"), ("dnsmos_p808",),
                  None, len(x) / SAMPLE_RATE, False, False, True, 20.0)
    rows = evaluate_pair(job)
    assert [r.metric for r in rows] == ["dnsmos_p808"] and not rows[0].error
    assert rows[0].value == pytest.approx(_score("dnsmos_p808", delayed), abs=1e-9)
    assert rows[0].value != pytest.approx(_score("dnsmos_p808", x), abs=1e-6)
    # an intrusive metric in the same job still needs the reference and says so
    rows = evaluate_pair(dataclasses.replace(job, metrics=("dnsmos_p808", "pesq_wb")))
    by = {r.metric: r for r in rows}
    assert not by["dnsmos_p808"].error and np.isnan(by["pesq_wb"].value) and "missing.wav" in by["pesq_wb"].error


def test_run_scores_the_reference_once_as_the_ceiling(tmp_path):
    """``bench run`` adds system ``reference`` rows for metrics that need no reference (equal to the
    identical ``natural`` output), none for intrusive ones, and prints it first in the table."""
    from bench.runner import RunConfig, run

    manifest = demo_manifest(tmp_path / "m.csv", SUBSET[:2])
    out = tmp_path / "run"
    run(RunConfig(systems=["natural"], data=f"manifest:{manifest}", out=out, metrics=["dnsmos_p808", "si_sdr"],
                  workers=1, quiet=True, report=False))
    rows = read_rows(out / "results.csv")
    ref = values(rows, "reference", "dnsmos_p808")
    assert len(ref) == 2 and ref == values(rows, "natural", "dnsmos_p808")
    assert values(rows, "reference", "si_sdr") == [] and values(rows, "reference", "bitrate_kbps") == []
    assert Path(out / "summary.csv").read_text().count("\nreference,dnsmos_p808,2,0,") == 1


def test_dnsmos_scores_an_output_peaking_past_full_scale_as_microsofts_does(demo16, tmp_path):
    """A codec overshoot (peak 1.005, written as a float WAV) is scored as it is, through the run's metric
    stage: equal to speechmos given the file (it reads it with librosa and checks no range), not NaN."""
    pytest.importorskip("requests")  # speechmos' module imports it
    import soundfile as sf
    from speechmos import dnsmos as theirs

    x = next(iter(demo16.values()))
    loud = (x * (1.005 / np.max(np.abs(at16(x))))).astype(np.float32)  # peaks at 1.005 where DNSMOS reads it
    write_run_wav(tmp_path / "out.wav", loud)
    job = PairJob("u", "s", "sys", str(tmp_path / "ref.wav"), str(tmp_path / "out.wav"), DNSMOS,
                  None, len(x) / SAMPLE_RATE, False, False, True, 20.0)
    rows = {r.metric: r for r in evaluate_pair(job)}
    clip = at16(loud)
    assert np.max(np.abs(clip)) == pytest.approx(1.005, abs=1e-4) and np.max(np.abs(loud)) > 1.0
    sf.write(tmp_path / "clip16.wav", clip, 16000, subtype="FLOAT")
    ref = theirs.run(str(tmp_path / "clip16.wav"), 16000)
    for name in DNSMOS:
        assert not rows[name].error, rows[name].error
        assert rows[name].value == pytest.approx(float(ref[f"{name.split('_')[1]}_mos"]), abs=1e-5), name
