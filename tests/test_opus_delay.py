"""Opus output is time-aligned with its input to a fraction of a sample, in every application and bitrate."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from conftest import need_libopus
from scipy.signal import csd

from bench.corpora import DEMO_DIR

#: speech that systems.opus.residual_delay does not measure on (it uses the demo corpus): other voices
#: and sentences, rendered by espeak-ng like the demo corpus
HELD_OUT = (("en-gb", "Frozen raspberries taste wonderful on a humid August afternoon."),
            ("en-us+m3", "Seven brave sailors crossed the choppy bay in a wooden dinghy."),
            ("en-gb+f2", "Would you rather visit Lisbon, Oslo or Montreal next spring?"))


@pytest.fixture(scope="module")
def held_out_speech() -> list[np.ndarray]:
    import shutil
    import subprocess

    import soxr

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (scripts/setup_system.sh installs it)")
    out = []
    for voice, text in HELD_OUT:
        wav = subprocess.run(["espeak-ng", "-v", voice, "--stdout", text], capture_output=True, check=True).stdout
        import io

        x, sr = sf.read(io.BytesIO(wav), dtype="float32")
        x = soxr.resample(x, sr, 48000).astype(np.float32)
        out.append((0.5 * x / np.abs(x).max()).astype(np.float32))
    return out


def xcorr_lag(x: np.ndarray, y: np.ndarray, max_lag: int = 16) -> float:
    """Delay of ``y`` behind ``x`` in samples (+ = late): the cross-correlation peak (direct sums), refined by
    parabolic interpolation."""
    x, y, n = x.astype(np.float64), y.astype(np.float64), len(x)
    c = np.array([np.dot(y[max(0, k):n + min(0, k)], x[max(0, -k):n - max(0, k)])
                  for k in range(-max_lag, max_lag + 1)])
    k = int(np.argmax(c))
    a, b, d = c[k - 1], c[k], c[k + 1]
    return k - max_lag + 0.5 * (a - d) / (a - 2 * b + d)


def phase_slope_lag(x: np.ndarray, y: np.ndarray, sample_rate: int = 48000) -> float:
    """Delay of ``y`` behind ``x`` in samples (+ = late) from the slope of the cross-spectrum's phase over
    100 Hz - 3.5 kHz (Welch-averaged, magnitude-weighted least squares through the origin).

    An estimator independent of the cross-correlation peak the Opus adapter uses."""
    f, pxy = csd(x.astype(np.float64), y.astype(np.float64), fs=sample_rate, nperseg=2048)
    band = (f >= 100) & (f <= 3500)
    omega, phase, w = 2 * np.pi * f[band] / sample_rate, np.angle(pxy[band]), np.abs(pxy[band])
    # scipy's csd is conj(X) Y: phase = -omega * delay
    return float(-np.sum(w * omega * phase) / np.sum(w * omega**2))


def test_phase_slope_estimator_finds_a_known_fractional_delay():
    from systems.opus import read_at

    x, _ = sf.read(DEMO_DIR / "demo_f_002.flac", dtype="float32")
    padded = np.pad(x, 64)
    for true in (-2.5, -0.3, 1.7):
        y = read_at(padded, 64 - true, len(x))  # y[m] = x(m - true): late by `true`
        assert phase_slope_lag(x, y) == pytest.approx(true, abs=0.02)
        assert xcorr_lag(x, y) == pytest.approx(true, abs=0.1)


def _check_alignment(speech: list[np.ndarray], application: str, kbps: int) -> None:
    """The cross-correlation peak (what alignment and SI-SDR see) is within +-0.5 sample on every utterance.
    At 6 kbps (8 kHz SILK, whose resamplers are far from linear-phase near 4 kHz) single utterances scatter
    up to +-1 sample, so there the median is held to +-0.5. ``voip`` adds a pitch-adaptive 2nd-order
    high-pass whose phase lead at speech frequencies moves the apparent lag with the voice: on these voices
    (not the demo voices the delay is measured on) it is held to +-0.75. The phase slope over 0.1-3.5 kHz
    weighs the band differently and agrees to +-0.5 in the median."""
    need_libopus()
    from systems.base import SystemOptions
    from systems.opus import Opus

    codec = Opus(SystemOptions(opus_application=application, opus_bitrate=kbps * 1000))
    peaks, slopes = [], []
    for i, x in enumerate(speech):
        out = codec.process(x, utterance_id=str(i))
        assert len(out.audio) == len(x)
        peaks.append(xcorr_lag(x, out.audio))
        slopes.append(phase_slope_lag(x, out.audio))
    tol = 0.75 if application == "voip" else 0.5
    assert abs(np.median(peaks)) <= tol, peaks
    if kbps > 6:
        assert max(abs(v) for v in peaks) <= tol, peaks
        assert abs(np.median(slopes)) <= tol, slopes
    else:
        assert max(abs(v) for v in peaks) <= 1.2, peaks


@pytest.mark.parametrize(("application", "kbps"),
                         [("audio", 24), ("voip", 24), ("lowdelay", 24), ("audio", 6), ("voip", 12), ("voip", 64)])
def test_opus_output_is_aligned_within_half_a_sample(held_out_speech, application, kbps):
    _check_alignment(held_out_speech, application, kbps)


@pytest.mark.slow
@pytest.mark.parametrize("application", ["audio", "voip", "lowdelay"])
@pytest.mark.parametrize("kbps", [6, 12, 16, 24, 32, 64])
def test_opus_output_is_aligned_at_every_bitrate(held_out_speech, application, kbps):
    _check_alignment(held_out_speech, application, kbps)
