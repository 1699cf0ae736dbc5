"""Metric scales a reviewer can check: MCD against SPTK (pysptk), silent outputs in phase distance."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from bench.corpora import DEMO_DIR
from metrics import MetricError


def _speech(name: str = "demo_f_001") -> np.ndarray:
    x, sr = sf.read(DEMO_DIR / f"{name}.flac", dtype="float32")
    assert sr == 48000
    return x


@pytest.mark.parametrize("scale", [0.0, 1e-4, 1e-6])
def test_phase_distance_of_a_silent_or_near_silent_output_is_a_failure(scale):
    from bench.evaluate import get_metric

    x = _speech()
    pd = get_metric("phase_distance")
    with pytest.raises(MetricError, match="silent"):
        pd.compute(reference=x, degraded=(scale * x).astype(np.float32), sample_rate=48000)
    # a quiet but audible output (-40 dB) is still scored, and its phase is right
    assert pd.compute(reference=x, degraded=(0.01 * x).astype(np.float32), sample_rate=48000) < 1e-6


def test_phase_distance_counts_a_dropped_out_half_as_chance():
    """An output that drops out (exact zeros) for the second half is right on the first half only: the
    zero half scores chance (pi/2), not the angle of a signed zero (0 or pi)."""
    from bench.evaluate import get_metric
    from metrics.dsp import stft

    x = _speech()
    y = x.copy()
    half = len(x) // 2
    y[half:] = 0.0
    pd = get_metric("phase_distance")
    got = pd.compute(reference=x, degraded=y, sample_rate=48000)
    # the magnitude weight of the frames that lie entirely in the zero half bounds the expected value
    mag = np.abs(stft(x.astype(np.float64), pd.n_fft, pd.hop))
    starts = np.arange(mag.shape[1]) * pd.hop
    w_zero = mag[:, starts >= half].sum() / mag.sum()
    assert got == pytest.approx(w_zero * np.pi / 2, rel=0.25)


# ------------------------------------------------------------------------------------------------ MCD

def _pysptk():
    import warnings

    with warnings.catch_warnings():  # pysptk imports pkg_resources, which warns about its own deprecation
        warnings.simplefilter("ignore")
        return pytest.importorskip("pysptk")


def _mcd_with_pysptk(ref: np.ndarray, out: np.ndarray) -> float:
    """The same MCD with SPTK (pysptk.sp2mc) doing the mel-cepstral analysis, framed independently."""
    from scipy.signal import get_window

    pysptk = _pysptk()
    n_fft, hop, order = 2048, 240, 24
    alpha = pysptk.util.mcepalpha(48000)
    win = get_window("hann", n_fft, fftbins=True)

    def power(x):
        frames = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), n_fft)[::hop]
        return np.abs(np.fft.rfft(frames * win, axis=1)) ** 2  # [N, F]

    pr, pd = power(ref), power(out)
    e = pr.sum(axis=1)
    keep = e >= e.max() * 1e-4  # frames within 40 dB
    floor = pr.max() * 1e-8  # 80 dB below the strongest reference bin
    cr = np.array([pysptk.sp2mc(np.maximum(p, floor), order, alpha) for p in pr[keep]])
    cd = np.array([pysptk.sp2mc(np.maximum(p, floor), order, alpha) for p in pd[keep]])
    return float(np.mean(10 / np.log(10) * np.sqrt(2 * np.sum((cr[:, 1:] - cd[:, 1:]) ** 2, axis=1))))


@pytest.mark.parametrize(("utt", "kbps"), [("demo_f_002", 24), ("demo_m_002", 6), ("demo_m_003", 64)])
def test_mcd_equals_sptk_on_speech_through_real_opus(utt, kbps):
    """Tolerance 1e-4 relative: SPTK's sp2mc feeds the mirrored half of the cepstrum to freqt too, we do
    not; those quefrencies (> 1024) reach c1..c24 only through a vanishing tail (measured ~1e-7)."""
    from conftest import need_libopus

    from bench.evaluate import get_metric
    from systems import RunSettings, build_system

    need_libopus()
    x = _speech(utt)
    y = build_system(f"opus@{kbps}k", RunSettings()).process(x, utterance_id=utt).audio
    ours = get_metric("mcd").compute(reference=x, degraded=y, sample_rate=48000)
    theirs = _mcd_with_pysptk(x, y)
    assert ours == pytest.approx(theirs, rel=1e-4)
    assert 0.5 < ours < 12  # dB on the published scale (main gave 10-13x these)


def test_mel_cepstrum_recovers_known_cepstra_and_mcd_is_their_distance():
    """Spectra synthesised from known mel-cepstra (log|H| = sum c(m) cos(m b(w)), b the warped frequency):
    the analysis returns those cepstra (to 1e-6) and the MCD is the closed form of their difference."""
    from metrics.dsp import mel_cepstrum
    from metrics.spectral import MelCepstralDistortion, mcd_db

    pysptk = _pysptk()
    m = MelCepstralDistortion
    rng = np.random.default_rng(7)
    c = rng.normal(0, 0.3, (m.order + 1, 5)) / (1 + np.arange(m.order + 1))[:, None]  # 5 frames
    c2 = c + rng.normal(0, 0.05, c.shape)
    w = np.linspace(0, np.pi, m.n_fft // 2 + 1)
    warped = w + 2 * np.arctan(m.alpha * np.sin(w) / (1 - m.alpha * np.cos(w)))
    basis = np.cos(np.outer(warped, np.arange(m.order + 1)))  # [F, order+1]
    power, power2 = np.exp(2 * basis @ c), np.exp(2 * basis @ c2)
    # the synthesis agrees with SPTK's own mel-cepstrum -> spectrum conversion
    np.testing.assert_allclose(pysptk.mc2sp(np.ascontiguousarray(c[:, 0]), m.alpha, m.n_fft), power[:, 0], rtol=1e-9)
    np.testing.assert_allclose(mel_cepstrum(power, m.order, m.alpha), c, atol=1e-6)
    expected = np.mean(10 / np.log(10) * np.sqrt(2 * np.sum((c[1:] - c2[1:]) ** 2, axis=0)))
    got = mcd_db(mel_cepstrum(power, m.order, m.alpha), mel_cepstrum(power2, m.order, m.alpha))
    assert got == pytest.approx(expected, rel=1e-6)
    # c0 (gain) is excluded: a pure level change costs nothing
    assert mcd_db(c, c + np.eye(m.order + 1)[:, :1]) == 0.0
