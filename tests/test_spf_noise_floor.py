"""No added noise floor: in a silent stretch, the shipped post-filter's output is no louder than its input.

Input: demo speech with one second of the demo corpus's own kind of silence (a -70 dBFS Gaussian floor)
inserted in the middle, coded by Opus 24 kbps, then the shipped demo post-filter with its default sampler.
The spectrum of the silent stretch (away from the speech edges) is compared band by band; a post-filter
that adds noise (as a diffusion model stopped too early does: the old OUVE demo weights with their 4-step
PC sampler added 22-28 dB in every band here) fails.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import stft

from bench.corpora import DEMO_DIR
from systems import SYSTEMS, RunSettings, build_system
from systems.spf.postfilter import DEMO_WEIGHTS

pytestmark = pytest.mark.usefixtures("torch_one_thread")

SR = 48000
#: the silent stretch is [1.5, 2.5) s; only frames at least 0.2 s from the speech are compared
SILENCE = (1.7, 2.3)
BAND_EDGES_HZ = (0, 500, 1000, 2000, 4000, 8000, 12000, 16000, 24001)
#: allowed excess per band (dB): the spectrum estimate's own spread over ~110 frames is well below this
TOLERANCE_DB = 1.0


def band_levels_db(audio: np.ndarray, t0: float, t1: float) -> np.ndarray:
    """Mean power (dB) per band of ``BAND_EDGES_HZ`` over the STFT frames centred in [t0, t1] s -> [bands]."""
    f, t, spec = stft(audio, SR, nperseg=1024, noverlap=768)
    power = np.abs(spec[:, (t >= t0) & (t <= t1)]) ** 2
    return np.array([10 * np.log10(power[(f >= lo) & (f < hi)].mean() + 1e-30)
                     for lo, hi in itertools.pairwise(BAND_EDGES_HZ)])


def speech_with_silence() -> np.ndarray:
    """1.5 s of demo speech, 1 s of -70 dBFS noise floor, 1.5 s of the same utterance's continuation."""
    speech, sr = sf.read(DEMO_DIR / "demo_m_001.flac", dtype="float32")
    assert sr == SR
    floor = np.random.default_rng(0).normal(0.0, 10 ** (-70 / 20), SR).astype(np.float32)
    return np.concatenate([speech[: int(1.5 * SR)], floor, speech[int(1.5 * SR): 3 * SR]])


def silence_excess_db(settings: RunSettings, spec: str = "opus+spf") -> np.ndarray:
    """Output minus input level per band (dB) in the silent stretch, for the post-filter of ``spec``."""
    coded = build_system("opus", settings).process(speech_with_silence(), utterance_id="silence").audio
    pf = build_system(spec, settings).postfilters[0]
    enhanced, _ = pf.process(coded, seed=0)
    return band_levels_db(enhanced, *SILENCE) - band_levels_db(coded, *SILENCE)


@pytest.mark.xfail(strict=True, reason=(
    "target not met by the shipped demo weights (SB, 100 CPU steps, ODE 1 step): they raise a -70 dBFS silence "
    "by 2.3-3.7 dB above 500 Hz and 6.6 dB below; every later checkpoint measured added 5-11 dB. "
    "Strict: weights that meet the target make this XPASS, which fails until the marker is removed."))
def test_demo_post_filter_adds_no_noise_floor_in_silence():
    if SYSTEMS.get("opus").unavailable_reason(RunSettings()):
        pytest.skip("opus unavailable")
    if not DEMO_WEIGHTS.is_file():
        pytest.skip("demo weights not shipped in this checkout")
    excess = silence_excess_db(RunSettings())
    assert excess.max() <= TOLERANCE_DB, f"post-filter raises the silence by {np.round(excess, 1)} dB per band"
