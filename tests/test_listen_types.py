"""The test-type registry: each kind owns its scale, conditions, trials and screening."""

from __future__ import annotations

import re

import pytest
import yaml

from bench.registry import RegistryError
from listening_test.definition import Item, Stimulus
from listening_test.testtypes import TEST_TYPES, get_test_type
from listening_test.wording import TextsError, languages, load_texts, shipped


def test_registry_knows_the_built_in_types_and_suggests_on_a_typo():
    assert TEST_TYPES.names()[:4] == ["mushra", "mos", "ccr", "dcr"]
    assert get_test_type("acr") is get_test_type("mos")
    with pytest.raises(RegistryError, match="did you mean mushra"):
        get_test_type("mushr")


@pytest.mark.parametrize(("name", "score", "ok"), [
    ("mushra", 0, True), ("mushra", 100, True), ("mushra", 55.5, True), ("mushra", -0.01, False),
    ("mushra", 100.01, False), ("mushra", float("nan"), False), ("mushra", True, False), ("mushra", "50", False),
    ("mos", 1, True), ("mos", 5, True), ("mos", 3.0, True), ("mos", 3.5, False), ("mos", 0, False), ("mos", 6, False),
])
def test_scales_accept_exactly_their_range(name, score, ok):
    assert (get_test_type(name).scale.problem(score) is None) is ok


def test_each_type_makes_its_own_trials():
    item = Item(id="item01", utterance="u", speaker="p", start_s=0, duration_s=1, reference="audio/r.wav",
                stimuli=[Stimulus(id=f"s{i}", system=f"sys{i}", file=f"audio/s{i}.wav") for i in range(3)])
    mushra = get_test_type("mushra").trials([item])
    assert [(t.id, t.stimuli) for t in mushra] == [("item01", ["s0", "s1", "s2"])]
    mos = get_test_type("mos").trials([item])
    assert [(t.id, t.stimuli) for t in mos] == [("item01-s0", ["s0"]), ("item01-s1", ["s1"]), ("item01-s2", ["s2"])]
    assert get_test_type("mushra").anchors == ("anchor35", "anchor70") and get_test_type("mos").anchors == ()


@pytest.mark.parametrize("lang", languages())
def test_every_shipped_translation_has_every_text(lang):
    en, other = yaml.safe_load(shipped("en")), yaml.safe_load(shipped(lang))
    assert set(other) == set(en)
    for key, value in en.items():
        assert type(other[key]) is type(value), key
        if isinstance(value, (list, dict)):
            assert len(other[key]) == len(value) and (not isinstance(value, dict) or set(other[key]) == set(value)), key
        if isinstance(value, str):  # the same placeholders
            assert sorted(re.findall(r"{\w+}", other[key])) == sorted(re.findall(r"{\w+}", value)), key


def test_a_test_folders_texts_are_checked_and_completed_from_english(tmp_path):
    (tmp_path / "texts.yaml").write_text("start: Los\n")
    assert load_texts(tmp_path)["start"] == "Los" and load_texts(tmp_path)["next"] == "Next"
    (tmp_path / "texts.yaml").write_text("strat: Los\n")
    with pytest.raises(TextsError, match=r"texts.yaml: unknown keys strat"):
        load_texts(tmp_path)
    (tmp_path / "texts.yaml").write_text("scale: [a, b]\n")
    with pytest.raises(TextsError, match="scale must have 5 entries"):
        load_texts(tmp_path)
