"""The table that orders test files for the parallel run: parsed from pytest's --durations output, and used."""

from __future__ import annotations

import importlib.util

from tests.conftest import FILE_COSTS, REPO


def _script():
    spec = importlib.util.spec_from_file_location("test_costs_script", REPO / "scripts" / "test_costs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_durations_are_summed_per_file_heaviest_first():
    text = """============================= slowest durations ==============================
36.02s setup    tests/test_b.py::test_x
3.50s call     tests/test_a.py::test_y[param-1]
1.25s teardown tests/test_a.py::test_y[param-1]
40.00s call     tests/test_a.py::TestThing::test_z
(988 durations < 0.005s hidden.  Use -vv to show these durations.)
"""
    assert _script().file_costs(text) == {"tests/test_a.py": 44.8, "tests/test_b.py": 36.0}


def test_the_table_names_existing_test_files():
    assert len(FILE_COSTS) > 50 and all(cost >= 0 for cost in FILE_COSTS.values())
    missing = [f for f in FILE_COSTS if not (REPO / f).is_file()]
    assert not missing, f"tests/file_costs.json names files that no longer exist: {missing} (scripts/test_costs.py)"
