"""``build_once`` (behind the ``shared_run`` fixture): processes that ask for the same shared run at the same
time get one build, and a build that fails leaves nothing that a later caller would take for a result."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest
from conftest import build_once, session_dir


def _slow_build(folder: Path) -> None:
    """Counts its calls in ``builds.txt`` next to the folder; slow enough for the other process to ask meanwhile."""
    with open(folder.parent / "builds.txt", "a") as f:
        f.write("built\n")
    time.sleep(0.5)
    folder.mkdir()
    (folder / "result.txt").write_text("complete")


def _ask(shared: str, queue: multiprocessing.Queue) -> None:
    queue.put(str(build_once(Path(shared), "run", _slow_build)))


def test_two_processes_asking_at_once_get_one_build(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")  # two processes, each with its own file-lock handle, like xdist workers
    queue = ctx.Queue()
    procs = [ctx.Process(target=_ask, args=(str(tmp_path / "shared"), queue)) for _ in range(2)]
    for p in procs:
        p.start()
    folders = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert folders == [str(tmp_path / "shared" / "run")] * 2
    assert (tmp_path / "shared" / "builds.txt").read_text() == "built\n"
    assert (tmp_path / "shared" / "run" / "result.txt").read_text() == "complete"


def test_a_failed_build_is_built_again_by_the_next_caller(tmp_path: Path) -> None:
    def broken(folder: Path) -> None:
        folder.mkdir()
        (folder / "half.txt").write_text("half")
        raise RuntimeError("build failed")

    with pytest.raises(RuntimeError, match="build failed"):
        build_once(tmp_path, "run", broken)
    assert not (tmp_path / "run").exists()
    folder = build_once(tmp_path, "run", lambda f: (f.mkdir(), (f / "ok.txt").write_text("ok")))
    assert sorted(p.name for p in folder.iterdir()) == ["ok.txt"]
    # asked again: the finished run, not a new build
    assert build_once(tmp_path, "run", lambda f: pytest.fail("built twice")) == folder


def test_the_session_folder_is_shared_by_xdist_workers(tmp_path_factory: pytest.TempPathFactory,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path_factory.getbasetemp()
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    assert session_dir(tmp_path_factory) == base
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")  # a worker's basetemp is <session>/popen-gw1
    assert session_dir(tmp_path_factory) == base.parent
