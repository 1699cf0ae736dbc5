"""LC3 through liblc3 (lc3py), tested like Opus: length, delay, bitrate, quality ordering, composition."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from conftest import held_out_voices, phase_slope_lag, xcorr_lag
from pesq import pesq
from scipy.signal import resample_poly

from bench.audio import resample
from bench.corpora import DEMO_DIR
from systems import RunSettings, build_system

pytest.importorskip("lc3")


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    x, sr = sf.read(DEMO_DIR / "demo_f_001.flac", dtype="float32")
    assert sr == 48000
    return x


@pytest.fixture(scope="module")
def held_out() -> list[np.ndarray]:
    return held_out_voices()


@pytest.mark.parametrize("kbps", [16, 24, 32])
def test_lc3_length_delay_and_bitrate(speech, held_out, kbps):
    system = build_system(f"lc3@{kbps}k", RunSettings())
    assert system.name == f"lc3@{kbps}k" and system.sample_rate == 48000
    out = system.process(speech, utterance_id="a")
    assert out.audio.shape == speech.shape and out.audio.dtype == np.float32
    achieved = out.bits / (len(speech) / 48000) / 1000
    assert achieved == pytest.approx(kbps, rel=0.01)
    assert out.info["frame_bytes"] == kbps * 10 // 8
    # the codec's delay is removed: on speech it was not measured on, under half a sample is left, by the
    # cross-correlation peak (what alignment and SI-SDR see) and by the cross-spectrum's phase slope
    for x in held_out:
        y = system.process(x, utterance_id="h").audio
        assert len(y) == len(x)
        assert abs(xcorr_lag(x, y)) <= 0.5 and abs(phase_slope_lag(x, y)) <= 0.5


def test_lc3_quality_increases_with_bitrate(speech):
    ref16 = resample_poly(speech, 1, 3)
    scores = []
    for kbps in (16, 24, 32, 64):
        y = build_system(f"lc3@{kbps}k", RunSettings()).process(speech, utterance_id="a").audio
        scores.append(pesq(16000, ref16, resample_poly(y, 1, 3), "wb"))
    assert scores == sorted(scores) and scores[0] + 1.0 < scores[-1], scores


def test_lc3_bitrate_range_is_checked():
    with pytest.raises(ValueError, match="outside 16-320 kbps"):
        build_system("lc3@8k", RunSettings())


def test_lc3_composes_with_the_post_filter(speech):
    system = build_system("lc3@24k+spf[sampler=ode,steps=1]", RunSettings())
    assert system.name == "lc3@24k+spf[sampler=ode,steps=1]" and system.family == "lc3+spf[sampler=ode,steps=1]"
    out = system.process(speech[:24000], utterance_id="a")
    assert out.audio.shape == (24000,) and np.isfinite(out.audio).all()
    assert out.bits == 51 * 30 * 8  # the codec's bits: 51 frames of 30 bytes (10 ms each, the last one flushes)
    assert out.info["spf"]["nfe"] == 1


def test_a_16k_codec_composes_with_the_48k_post_filter(speech):
    """The post-filter works at 48 kHz: a 16 kHz codec's output is resampled to it once, and the
    composition's output is at 48 kHz (not resampled back)."""
    x16 = resample_poly(speech[:48000], 1, 3).astype(np.float32)
    codec = build_system("lc3@24k[sample_rate=16000]", RunSettings())
    composed = build_system("lc3@24k[sample_rate=16000]+spf[sampler=ode,steps=1]", RunSettings())
    assert (composed.sample_rate, composed.output_rate) == (16000, 48000)
    coded = codec.process(x16, utterance_id="a").audio
    out = composed.process(x16, utterance_id="a")
    assert out.audio.shape == (3 * len(x16),) and np.isfinite(out.audio).all()
    coded48 = resample(coded, 16000, 48000)
    assert out.info["spf"]["nfe"] == 1 and not np.allclose(out.audio, coded48, atol=1e-3)
