"""Native rates: every system codes at the rate it declares, and the runner resamples at its boundary once
per direction, only where that rate differs from the evaluation rate; systems that work at any rate
(``natural``, ``files:``) take the evaluation rate as it is."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import read_rows, run_bench, values
from official_codecs import seeded_encodec

from bench.audio import read_mono
from bench.corpora import DEMO_DIR
from bench.runfolder.wav import read_run_wav

UTTS = ("demo_f_001", "demo_m_001")


def corpus(folder: Path, rate: int, seconds: float = 1.0) -> dict[str, np.ndarray]:
    """A ``folder:`` corpus of float32 WAVs at ``rate`` (demo speech ending in 20 ms of silence); returns
    id -> samples as written."""
    folder.mkdir(parents=True)
    out = {}
    for utt in UTTS:
        x = read_mono(DEMO_DIR / f"{utt}.flac", rate)[int(0.3 * rate): int((0.3 + seconds) * rate)]
        x = np.concatenate([x, np.zeros(rate // 50, np.float32)])
        sf.write(folder / f"{utt}.wav", x, rate, subtype="FLOAT")
        out[utt] = sf.read(folder / f"{utt}.wav", dtype="float32")[0]
    return out


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    noise = float(np.sum((reference.astype(np.float64) - estimate) ** 2))
    signal = float(np.sum(reference.astype(np.float64) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(signal / noise)


def test_encodec_24k_run_at_24k_is_the_package_output(tmp_path, torch_one_thread):
    """A 24 kHz corpus evaluated at 24 kHz through EnCodec 24 kHz: the package's own decode(encode(x))."""
    ref = seeded_encodec("encodec_24khz")
    ref.set_target_bandwidth(6.0)
    ckpt = tmp_path / "encodec_24khz.th"
    torch.save(ref.state_dict(), ckpt)
    inputs = corpus(tmp_path / "c24", 24000)
    out = tmp_path / "run"
    r = run_bench("run", "--systems", "encodec@6k", "--checkpoint", f"encodec={ckpt}",
                  "--sample-rate", "24000", "--data", f"folder:{tmp_path / 'c24'}", "--out", str(out),
                  "--metrics", "si_sdr", "--no-report", "--workers", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "resampled" not in r.stderr  # neither the inputs nor the system's boundary
    for utt, x in inputs.items():
        stored, rate = read_run_wav(out / "reference" / f"{utt}.wav")
        assert rate == 24000 and np.array_equal(stored, x)
        padded = torch.from_numpy(np.pad(x, (0, -len(x) % 320)))[None, None]
        with torch.no_grad():
            expected = ref.decode(ref.encode(padded))[0, 0, : len(x)].numpy()
        ours, _ = read_run_wav(out / "audio" / "encodec@6k" / f"{utt}.wav")
        assert snr_db(expected, ours) >= 60.0
        side = json.loads((out / "audio" / "encodec@6k" / f"{utt}.json").read_text())
        assert "resampled_at_boundary" not in side["info"]
    record = json.loads((out / "run.json").read_text())["systems"]["encodec@6k"]
    assert record["sample_rate"] == 24000 and record["resampling"] == []


def test_encodec_24k_at_48k_is_resampled_once_each_way(tmp_path):
    """At 48 kHz the same system keeps its rate and is resampled at its boundary, 48 -> 24 kHz and back."""
    from bench.system_stage import boundary_resampling
    from systems import RunSettings, build_system

    ckpt = tmp_path / "encodec_24khz.th"
    torch.save(seeded_encodec("encodec_24khz").state_dict(), ckpt)
    system = build_system("encodec", RunSettings(checkpoints={"encodec": ckpt}))
    system.use_rate(48000)
    assert system.sample_rate == system.output_rate == 24000
    assert boundary_resampling(system, 48000) == [
        {"from": 48000, "to": 24000, "library": "soxr", "quality": "VHQ"},
        {"from": 24000, "to": 48000, "library": "soxr", "quality": "VHQ"}]


def test_natural_is_the_identity_at_16k(tmp_path):
    inputs = corpus(tmp_path / "c16", 16000)
    out = tmp_path / "run"
    r = run_bench("run", "--systems", "natural", "--sample-rate", "16000",
                  "--data", f"folder:{tmp_path / 'c16'}", "--out", str(out), "--metrics", "si_sdr",
                  "--no-report", "--workers", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    for utt, x in inputs.items():
        stored, rate = read_run_wav(out / "reference" / f"{utt}.wav")
        output, _ = read_run_wav(out / "audio" / "natural" / f"{utt}.wav")
        assert rate == 16000 and np.array_equal(stored, x) and np.array_equal(output, x)
    assert values(read_rows(out / "results.csv"), "natural", "si_sdr") == [100.0, 100.0]  # the cap
    assert json.loads((out / "run.json").read_text())["systems"]["natural"]["resampling"] == []


def test_files_adapter_finds_a_15ms_delay_at_16k(tmp_path):
    """The adapter's search window is in samples at the evaluation rate: 20 ms at 16 kHz is 320 samples.

    Both files hold a 15 ms delay (240 samples); one is longer by the delay, one by only 5 ms (the window,
    widened by the length difference, must still reach 15 ms)."""
    inputs = corpus(tmp_path / "c16", 16000)
    made = tmp_path / "made"
    made.mkdir()
    delay = 240
    for (utt, x), extra in zip(inputs.items(), (delay, 80)):
        y = np.concatenate([np.zeros(delay, np.float32), x])[: len(x) + extra]
        sf.write(made / f"{utt}.wav", 0.5 * y, 16000, subtype="FLOAT")
    out = tmp_path / "run"
    r = run_bench("run", "--systems", f"files:made={made}", "--sample-rate", "16000",
                  "--data", f"folder:{tmp_path / 'c16'}", "--out", str(out), "--metrics", "si_sdr", "--no-report",
                  "--workers", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    for utt in inputs:
        info = json.loads((out / "audio" / "files_made" / f"{utt}.json").read_text())["info"]
        assert info["offset_samples"] == delay and "resampled_at_boundary" not in info
    rows = read_rows(out / "results.csv")
    assert values(rows, "files:made", "lag_samples") == [float(delay)] * 2
    assert values(rows, "files:made", "si_sdr") == [100.0, 100.0]  # the cap: the delay was all there was


@pytest.mark.parametrize("rate", [16000, 24000])
def test_anchors_at_the_evaluation_rate_meet_the_bs1534_mask(rate):
    """Below 48 kHz an anchor filters at the evaluation rate (nothing resampled) and still meets the mask
    (what of it lies below that rate's Nyquist frequency)."""
    from scipy import signal

    from systems import RunSettings, build_system
    from systems.anchors import anchor_taps

    for name, edge in (("anchor35", 3500.0), ("anchor70", 7000.0)):
        system = build_system(name, RunSettings())
        system.use_rate(rate)
        assert system.sample_rate == rate
        w, h = signal.freqz(anchor_taps(edge, rate), worN=1 << 15, fs=rate)
        db = 20 * np.log10(np.abs(h) + 1e-300)
        scale = edge / 3500.0
        assert np.all(np.abs(db[w <= edge]) <= 0.1)
        assert np.all(db[w >= 4000 * scale] <= -25)
        assert np.all(db[w >= 4500 * scale] <= -50)


@pytest.mark.parametrize(("kind", "rate"), [("encodec", 24000), ("encodec_48k", 48000), ("dac_44k", 44100),
                                            ("dac_24k", 24000), ("dac_16k", 16000), ("opus", 48000),
                                            ("symad", 48000), ("audiodec", 48000)])
def test_each_system_declares_the_rate_it_codes_at(kind, rate):
    from systems import SYSTEMS

    assert SYSTEMS.get(kind).sample_rate == rate


def test_lc3_declares_its_configured_rate():
    from systems import RunSettings, build_system

    system = build_system("lc3@24k[sample_rate=24000]", RunSettings())
    system.use_rate(16000)  # a codec keeps its own rate whatever the evaluation rate
    assert system.sample_rate == system.output_rate == 24000
