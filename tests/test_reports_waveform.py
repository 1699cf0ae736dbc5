"""The waveform-similarity figure's window choice and panel grouping."""

from __future__ import annotations

from pathlib import Path

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


def test_figure_survives_short_and_missing_outputs(tmp_path: Path) -> None:
    import soundfile as sf

    from reports.rundata import load_run
    from reports.waveform import waveform_figure

    try:
        from test_reports_fixtures import make_run
    except ImportError:  # tests/ imported as a package
        from tests.test_reports_fixtures import make_run

    run = load_run(make_run(tmp_path / "run", failing=True, seconds=0.4))
    utt = "p226/p226_002"  # broken_sys has no audio here
    short = run.audio_path("lowpass", utt)
    x, sr = sf.read(short, dtype="float32")
    sf.write(short, x[: int(0.1 * sr)], sr, subtype="FLOAT")  # shorter than the reference
    paths, caption = waveform_figure(run, utt, [["lowpass", "broken_sys"], ["delayed"]], 25.0, tmp_path / "fig")
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(p.stat().st_size > 1000 for p in paths)
    assert "No audio for: broken_sys." in caption
    assert "25 ms from" in caption
