"""EnCodec and DAC as systems: where weights are looked for, what a missing or wrong file says, and a
whole ``bench run`` with a checkpoint made as in the equality tests (plus ``+spf``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import SUBSET, demo_manifest, read_rows, run_bench, values

from systems import RunSettings, SystemUnavailable, build_system, describe_systems
from systems.dac.checkpoint import RELEASES as DAC_RELEASES
from systems.encodec.checkpoint import RELEASES as ENCODEC_RELEASES


@pytest.fixture
def no_caches(tmp_path, monkeypatch):
    """An empty home and torch cache, so that only the weights a test provides are found."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


def encodec_checkpoint(path: Path) -> Path:
    """A random-weight 24 kHz EnCodec state dict (as the equality tests make, without the package)."""
    from systems.encodec.model import build_model

    torch.manual_seed(0)
    model = build_model("encodec_24khz")
    with torch.no_grad():
        for name, buf in model.named_buffers():
            if name.endswith("_codebook.embed"):
                buf.copy_(torch.randn(buf.shape) * 0.3)
    torch.save(model.state_dict(), path)
    return path


@pytest.mark.parametrize("kind", ["encodec", "encodec_48k", "dac_44k", "dac_24k", "dac_16k"])
def test_missing_weights_name_the_file_and_its_release_url(no_caches, kind):
    with pytest.raises(SystemUnavailable) as err:
        build_system(kind, RunSettings())
    release = {"encodec": ENCODEC_RELEASES["encodec_24khz"], "encodec_48k": ENCODEC_RELEASES["encodec_48khz"],
               **{f"dac_{k[:2]}k": v for k, v in DAC_RELEASES.items() if k.endswith("8kbps")}}[kind]
    message = str(err.value)
    assert release.names[0] in message and release.url in message and f"--checkpoint {kind}=" in message
    row = next(r for r in describe_systems(RunSettings()) if r.name == kind)
    assert not row.available and release.url in (row.reason or "")


def test_weights_are_found_in_the_weights_folder_and_package_caches(tmp_path, no_caches):
    folder = tmp_path / "weights"
    (folder / "dac").mkdir(parents=True)
    (folder / "dac" / "weights_16khz.pth").touch()
    assert DAC_RELEASES["16khz_8kbps"].locate("dac_16k", RunSettings(weights_dir=folder)) == (
        folder / "dac" / "weights_16khz.pth")
    cached = tmp_path / "home" / ".cache" / "descript" / "dac" / "weights_24khz_8kbps_0.0.4.pth"
    cached.parent.mkdir(parents=True)
    cached.touch()
    assert DAC_RELEASES["24khz_8kbps"].locate("dac_24k", RunSettings(weights_dir=folder)) == cached
    hub = tmp_path / "torch" / "hub" / "checkpoints" / "encodec_48khz-7e698e3e.th"
    hub.parent.mkdir(parents=True)
    hub.touch()
    assert ENCODEC_RELEASES["encodec_48khz"].locate("encodec_48k", RunSettings()) == hub


def test_a_wrong_checkpoint_is_refused_naming_the_file(tmp_path, no_caches):
    path = encodec_checkpoint(tmp_path / "encodec.th")
    with pytest.raises(SystemUnavailable, match=r"encodec\.th: not a encodec_48khz checkpoint: missing encoder"):
        build_system("encodec_48k", RunSettings(checkpoints={"encodec_48k": path}))
    with pytest.raises(SystemUnavailable, match=r"encodec\.th: not a DAC weights file"):
        build_system("dac_44k", RunSettings(checkpoints={"dac_44k": path}))
    with pytest.raises(ValueError, match="no 5 kbps mode"):
        from systems.encodec.system import Encodec24k

        Encodec24k(RunSettings(checkpoints={"encodec": path}), options=Encodec24k.Options(kbps=5))


def test_bench_run_with_an_encodec_checkpoint(tmp_path, no_caches):
    """``bench run --systems encodec --checkpoint encodec=FILE`` on demo speech."""
    ckpt = encodec_checkpoint(tmp_path / "encodec_24khz_random.th")
    keep = SUBSET[:1]
    manifest = demo_manifest(tmp_path / "manifest.csv", keep)
    out = tmp_path / "run"
    res = run_bench("run", "--systems", "encodec", "--data", f"manifest:{manifest}", "--out", str(out),
                    "--metrics", "si_sdr", "--checkpoint", f"encodec={ckpt}", "--workers", "1", "--no-report",
                    "--quiet")
    assert res.returncode == 0, res.stderr
    ref = sf.info(out / "reference" / f"{keep[0]}.wav")
    assert sf.info(out / "audio" / "encodec" / f"{keep[0]}.wav").frames == ref.frames
    kbps = values(read_rows(out / "results.csv"), "encodec", "bitrate_kbps")
    assert len(kbps) == 1 and 6.0 <= kbps[0] <= 6.05, kbps  # 8 codebooks x 10 bits x 75 frames/s, whole frames
    prov = json.loads((out / "run.json").read_text())["systems"]["encodec"]["provenance"]
    assert prov["weights_file"] == str(ckpt) and prov["model_sample_rate"] == 24000 and prov["codebooks"] == 8
    assert len(prov["weights_sha256"]) == 64


def test_encodec_composes_with_spf(tmp_path, no_caches, torch_one_thread):
    ckpt = encodec_checkpoint(tmp_path / "encodec.th")
    system = build_system("encodec+spf", RunSettings(checkpoints={"encodec": ckpt}))
    # the codec codes at 24 kHz, the post-filter at 48 kHz: 0.25 s in at 24 kHz, out at 48 kHz
    assert (system.sample_rate, system.output_rate) == (24000, 48000)
    x = np.random.default_rng(0).standard_normal(6000).astype(np.float32) * 0.1
    out = system.process_batch([x], utterance_ids=["u"])[0]
    assert system.name == "encodec+spf" and out.audio.shape == (12000,) and "spf" in out.info
    assert out.bits == 19 * 8 * 10  # 6000 samples at 24 kHz: 19 frames of 8 codebooks
    assert system.provenance()["resampling"] == [{"from": 24000, "to": 48000, "library": "soxr", "quality": "VHQ"}]


def test_dac_bitrate_picks_the_most_codebooks_within_it():
    from systems.dac.system import codebooks_for_kbps

    assert codebooks_for_kbps(8.0, 44100 / 512, 10, 9) == 9  # dac_44k@8k: 9 x 0.861 = 7.75 kbps
    assert codebooks_for_kbps(7.7, 44100 / 512, 10, 9) == 8
    assert codebooks_for_kbps(6.0, 75.0, 10, 32) == 8  # dac_24k@6k, as EnCodec at 6 kbps
    with pytest.raises(ValueError, match="not reachable"):
        codebooks_for_kbps(0.3, 50.0, 10, 12)
    with pytest.raises(ValueError, match="1..12 codebooks"):
        codebooks_for_kbps(8.0, 50.0, 10, 12)  # the 16 kHz model tops out at 6 kbps


def test_bench_run_encodec_at_two_bitrates_side_by_side(tmp_path, no_caches):
    """``--systems encodec@6k,encodec@12k``: one instance per bitrate, each with its own rows and bits."""
    ckpt = encodec_checkpoint(tmp_path / "encodec_24khz_random.th")
    manifest = demo_manifest(tmp_path / "manifest.csv", SUBSET[:1])
    out = tmp_path / "run"
    res = run_bench("run", "--systems", "encodec@6k,encodec[kbps=12]", "--data", f"manifest:{manifest}",
                    "--out", str(out), "--metrics", "si_sdr", "--checkpoint", f"encodec={ckpt}", "--workers", "1",
                    "--no-report", "--quiet")
    assert res.returncode == 0, res.stderr
    systems = json.loads((out / "run.json").read_text())["systems"]
    assert sorted(systems) == ["encodec@12k", "encodec@6k"]
    assert systems["encodec@12k"]["provenance"]["codebooks"] == 16
    rows = read_rows(out / "results.csv")
    (low,), (high,) = values(rows, "encodec@6k", "bitrate_kbps"), values(rows, "encodec@12k", "bitrate_kbps")
    assert 6.0 <= low <= 6.05 and 12.0 <= high <= 12.1, (low, high)
