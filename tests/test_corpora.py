"""Corpus sources: demo, VCTK layouts (0.80, 0.92, Valentini), folders, manifests."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import soundfile as sf
from conftest import run_bench

from bench.corpora import DEMO_DIR, CorpusOptions, limit_utterances, open_corpus
from bench.errors import UsageError


def _wav(path, seconds=0.5, sr=48000, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.random.default_rng(len(str(path))).normal(0, 0.1, int(seconds * sr)).astype(np.float32)
    sf.write(path, x, sr, format=fmt)


def test_demo_corpus_is_what_the_readme_says():
    utts = open_corpus("demo").utterances()
    assert len(utts) >= 8
    genders = {u.gender for u in utts}
    assert genders == {"male", "female"} and len({u.speaker for u in utts}) >= 2
    for u in utts:
        assert u.sample_rate == 48000 and 3.0 <= u.duration <= 6.0 and u.path.suffix == ".flac"
        assert sf.info(u.path).channels == 1


def test_vctk_080(tmp_path):
    for spk in ("p225", "p232", "p257"):
        for n in (1, 2):
            _wav(tmp_path / "VCTK-Corpus" / "wav48" / spk / f"{spk}_{n:03d}.wav")
    test = open_corpus(f"vctk:{tmp_path}").utterances()
    assert [u.id for u in test] == ["p232_001", "p232_002", "p257_001", "p257_002"]
    assert len(open_corpus(f"vctk:{tmp_path}", CorpusOptions(split="all")).utterances()) == 6
    sel = open_corpus(f"vctk:{tmp_path}", CorpusOptions(speakers=("p225",))).utterances()
    assert {u.speaker for u in sel} == {"p225"}


def test_transcripts_and_genders(tmp_path):
    """VCTK's txt files and speaker-info.txt (0.80 ids without the p), the demo corpus's sentences."""
    for spk in ("p232", "p257"):
        _wav(tmp_path / "VCTK-Corpus" / "wav48" / spk / f"{spk}_001.wav")
    (tmp_path / "VCTK-Corpus" / "txt" / "p232").mkdir(parents=True)
    (tmp_path / "VCTK-Corpus" / "txt" / "p232" / "p232_001.txt").write_text("Please call Stella.\n")
    (tmp_path / "VCTK-Corpus" / "speaker-info.txt").write_text(
        "ID  AGE  GENDER  ACCENTS  REGION\n232  23  M  English  Southern England\n257  24  F  English  Southern\n")
    utts = {u.id: u for u in open_corpus(f"vctk:{tmp_path}").utterances()}
    assert (utts["p232_001"].text, utts["p232_001"].gender) == ("Please call Stella.", "male")
    assert (utts["p257_001"].text, utts["p257_001"].gender) == ("", "female")
    with open(DEMO_DIR / "manifest.csv", newline="") as fh:
        sentences = {r["id"]: r["text"] for r in csv.DictReader(fh)}
    demo = open_corpus("demo").utterances()
    assert all(u.text and u.text == sentences[u.id] for u in demo)


def test_vctk_092_microphones(tmp_path):
    root = tmp_path / "wav48_silence_trimmed"
    for mic in ("mic1", "mic2"):
        _wav(root / "p232" / f"p232_003_{mic}.flac", fmt="FLAC")
        _wav(root / "p257" / f"p257_004_{mic}.flac", fmt="FLAC")
    utts = open_corpus(f"vctk:{tmp_path}", CorpusOptions(mic="mic2")).utterances()
    assert [u.id for u in utts] == ["p232_003", "p257_004"]
    assert all(u.path.name.endswith("_mic2.flac") for u in utts)


def test_valentini(tmp_path):
    for f in ("p232_001", "p257_002"):
        _wav(tmp_path / "clean_testset_wav" / f"{f}.wav")
    _wav(tmp_path / "clean_trainset_28spk_wav" / "p226_001.wav")
    assert [u.id for u in open_corpus(f"vctk:{tmp_path}").utterances()] == ["p232_001", "p257_002"]
    assert len(open_corpus(f"vctk:{tmp_path}", CorpusOptions(split="all")).utterances()) == 3


def test_vctk_without_a_layout_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no VCTK layout"):
        open_corpus(f"vctk:{tmp_path}").utterances()


def test_folder_and_manifest(tmp_path):
    _wav(tmp_path / "f" / "spk1" / "a.wav")
    _wav(tmp_path / "f" / "b.flac", fmt="FLAC")
    (tmp_path / "f" / "notes.txt").write_text("x")
    utts = open_corpus(f"folder:{tmp_path / 'f'}").utterances()
    assert [(u.id, u.speaker) for u in utts] == [("b", ""), ("spk1/a", "spk1")]
    m = tmp_path / "m.csv"
    m.write_text("id,path,speaker\nx1,f/b.flac,s9\n")
    (u,) = open_corpus(f"manifest:{m}").utterances()
    assert (u.id, u.speaker, u.path) == ("x1", "s9", tmp_path / "f" / "b.flac")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,file\n")
    with pytest.raises(UsageError, match="lacks column"):
        open_corpus(f"manifest:{bad}").utterances()


def test_unknown_scheme_suggests():
    with pytest.raises(UsageError, match="did you mean vctk"):
        open_corpus("vtck:/x")


def test_limit_takes_utterances_round_robin_across_speakers(tmp_path):
    """``--limit 4 --data demo`` (two voices) runs two utterances of each voice, and says so in --help."""
    r = run_bench("run", "--systems", "natural", "--data", "demo", "--limit", "4", "--metrics", "si_sdr",
                  "--out", str(tmp_path / "run"), "--no-report", "--quiet", "--workers", "1")
    assert r.returncode == 0, r.stderr
    items = json.loads((tmp_path / "run" / "run.json").read_text())["corpus"]["items"]
    assert [i["id"] for i in items] == ["demo_f_001", "demo_f_002", "demo_m_001", "demo_m_002"]
    utts = open_corpus("demo").utterances()
    assert [u.id for u in limit_utterances(utts, 3)] == ["demo_f_001", "demo_f_002", "demo_m_001"]
    uneven = [u for u in utts if u.speaker == utts[0].speaker][:1] + [u for u in utts if u.speaker != utts[0].speaker]
    assert len(limit_utterances(uneven, 4)) == 4  # a speaker that runs out leaves its turns to the others
    assert "round-robin across speakers" in " ".join(run_bench("run", "--help").stdout.split())
