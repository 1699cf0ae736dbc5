"""The waveform-similarity figure's window choice and panel grouping."""

from __future__ import annotations

import numpy as np
import pytest

from bench.errors import UsageError
from reports.waveform import default_panels, parse_panels, pick_window

SR = 48000


def test_window_lands_in_voiced_speech_not_in_louder_noise() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(int(0.5 * SR)) / SR
    silence = 0.001 * rng.standard_normal(t.size)
    noise = 0.5 * rng.standard_normal(t.size)  # louder than the vowel, but aperiodic
    vowel = 0.3 * sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 12)) / 2
    vowel *= np.hanning(t.size) ** 0.2
    x = np.concatenate([silence, noise, vowel]).astype(np.float32)
    start = pick_window(x, SR, 25.0)
    assert 1.0 * SR <= start <= 1.5 * SR - int(0.025 * SR)
    # the loudest part of the vowel envelope, not its faded edges
    assert 1.1 * SR <= start <= 1.4 * SR


def test_window_is_inside_a_short_signal() -> None:
    x = np.sin(2 * np.pi * 200 * np.arange(600) / SR).astype(np.float32)  # 12.5 ms, shorter than the window
    assert pick_window(x, SR, 25.0) == 0


def test_default_panels_group_families() -> None:
    systems = ["natural", "audiodec", "symad", "scoredec", "opus", "opus_spf"]
    assert default_panels(systems) == [["audiodec", "symad", "scoredec"], ["opus", "opus_spf"]]
    assert default_panels(["natural", "opus", "audiodec"]) == [["opus", "audiodec"]]
    assert default_panels(["opus", "opus+spf", "anchor35", "anchor70"]) == [["opus", "opus+spf"], ["anchor35", "anchor70"]]


def test_parse_panels_names_unknown_systems() -> None:
    assert parse_panels("a,b; c", ["a", "b", "c"]) == [["a", "b"], ["c"]]
    with pytest.raises(UsageError, match="zzz"):
        parse_panels("a;zzz", ["a", "b"])
