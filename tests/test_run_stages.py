"""The runner's stages share one executor, closed exactly once whether the run finishes or a stage fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.executors import EXECUTORS, LocalExecutor
from bench.runner import RunConfig, run


class _Counting(LocalExecutor):
    """The local executor, counting how often it is closed (class-level: the runner builds its own)."""

    name = "counting"
    closed = 0
    fail_systems = False

    def map_system(self, system, fn, batches):
        if _Counting.fail_systems:
            raise RuntimeError("system stage broke")
        yield from super().map_system(system, fn, batches)

    def close(self) -> None:
        _Counting.closed += 1
        super().close()


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> type[_Counting]:
    monkeypatch.setitem(EXECUTORS._entries, "counting", _Counting)
    _Counting.closed, _Counting.fail_systems = 0, False
    return _Counting


def _cfg(out: Path) -> RunConfig:
    return RunConfig(systems=["anchor35"], data="demo", out=out, metrics=["si_sdr"], limit=1, workers=1,
                     executor="counting", quiet=True, report=False)


def test_the_executor_is_closed_once_after_a_run(counting, tmp_path: Path):
    outcome = run(_cfg(tmp_path / "run"))
    assert outcome.n_rows > 0 and not outcome.failures
    assert counting.closed == 1


def test_the_executor_is_closed_once_when_a_stage_fails(counting, tmp_path: Path):
    counting.fail_systems = True
    with pytest.raises(RuntimeError, match="system stage broke"):
        run(_cfg(tmp_path / "run"))
    assert counting.closed == 1
    assert not (tmp_path / "run" / "results.csv").exists()  # finalize never ran
