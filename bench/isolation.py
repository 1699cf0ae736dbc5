"""Worker processes that may crash, and that never outlive the process that started them.

Metric libraries in C (PESQ, ViSQOL's numba code) can kill their process: a segfault, an abort, the
out-of-memory killer. :class:`IsolatedPool` runs each job in a worker process that holds exactly one job
at a time, so when a worker dies the pool knows which job it was running: it asks the caller what to do
with that job (``on_crash``: a result to record and/or jobs to retry), starts a fresh worker and goes on.
``concurrent.futures.ProcessPoolExecutor`` cannot do this: it fails every pending job with
``BrokenProcessPool``.

Workers exit when their parent dies (``kill -9`` of ``bench run``): on Linux the kernel sends them SIGKILL
(``prctl(PR_SET_PDEATHSIG)``); elsewhere a watcher thread notices the new parent id within a second.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

J = TypeVar("J")
R = TypeVar("R")

_PR_SET_PDEATHSIG = 1


class WorkerCrash(RuntimeError):
    """The process running a job died; ``reason`` says how (e.g. ``killed by SIGSEGV``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class CrashOutcome(Generic[J, R]):
    """What to do with a job whose worker died: a result to yield (or None) and jobs to run instead."""

    result: R | None = None
    retry: list[J] = field(default_factory=list)


#: ``on_crash(job, crash)``: decides what a crashed job becomes
OnCrash = Callable[[J, WorkerCrash], CrashOutcome]


def exit_reason(exitcode: int | None) -> str:
    """``-11`` -> ``killed by SIGSEGV``; ``3`` -> ``exited with status 3``."""
    if exitcode is None:
        return "vanished"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory?)" if -exitcode == signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    return f"exited with status {exitcode}"


def die_with_parent(parent_pid: int) -> None:
    """Make this process exit when ``parent_pid`` does (call first thing in a child process)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent_pid:  # the parent died before prctl took effect
                os._exit(1)
            return

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _worker_main(conn: Connection, parent_pid: int, initializer: Callable[[], None] | None) -> None:
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if initializer is not None:
        initializer()
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        fn, job = task
        try:
            reply: tuple[str, Any] = ("ok", fn(job))
        except Exception as exc:  # noqa: BLE001 - re-raised in the parent, like concurrent.futures does
            reply = ("error", exc)
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result or exception
            conn.send(("error", RuntimeError(f"{exc.__class__.__name__}: {exc}")))


class _Worker:
    def __init__(self, ctx: Any, initializer: Callable[[], None] | None) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, os.getpid(), initializer), daemon=True)
        self.process.start()
        child.close()
        self.job: Any = None
        self.busy = False

    def stop(self) -> None:
        try:
            if self.process.is_alive() and not self.busy:
                self.conn.send(None)
                self.process.join(2.0)
        except OSError:
            pass
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class IsolatedPool:
    """``workers`` processes, one job each at a time; a dead worker costs its job, never the pool.

    Args:
        workers: number of processes (1 is fine: the job still runs outside this process).
        initializer: called once in each new worker.
    """

    def __init__(self, workers: int, initializer: Callable[[], None] | None = None) -> None:
        self.n = max(1, workers)
        self.initializer = initializer
        self._ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        self._workers: list[_Worker] = []
        self.crashes = 0

    def start(self) -> None:
        """Start the workers now (otherwise they start with the first job)."""
        while len(self._workers) < self.n:
            self._spawn()

    def _spawn(self) -> _Worker:
        w = _Worker(self._ctx, self.initializer)
        self._workers.append(w)
        return w

    def map_unordered(self, fn: Callable[[J], R], jobs: Iterable[J],
                      on_crash: OnCrash | None = None) -> Iterator[tuple[J, R]]:
        """Run ``fn(job)`` for every job; yield ``(job, result)`` as each finishes.

        When a worker dies, ``on_crash(job, WorkerCrash)`` decides: its ``result`` (if not None) is yielded
        for that job and its ``retry`` jobs run before the remaining ones. Without ``on_crash`` the
        :class:`WorkerCrash` is raised. An exception raised by ``fn`` is raised here.
        """
        it = iter(jobs)
        retry: deque[J] = deque()

        def next_job() -> tuple[bool, Any]:
            if retry:
                return True, retry.popleft()
            for job in it:
                return True, job
            return False, None

        for w in [w for w in self._workers if w.busy]:  # left busy by an abandoned earlier call: stale
            self._workers.remove(w)
            w.busy = False
            w.process.kill()
            w.stop()
        self.start()
        idle = [w for w in self._workers if not w.busy]
        while True:
            while idle:
                has, job = next_job()
                if not has:
                    break
                w = idle.pop()
                if not w.process.is_alive():  # it died between jobs: nothing was lost
                    self._workers.remove(w)
                    w.stop()
                    w = self._spawn()
                w.job, w.busy = job, True
                w.conn.send((fn, job))
            busy = [w for w in self._workers if w.busy]
            if not busy:
                return
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for w in busy:
                if w.conn in ready or (w.process.sentinel in ready and w.conn.poll()):
                    try:
                        status, value = w.conn.recv()
                    except (EOFError, OSError):
                        status, value = "crash", None
                    if status != "crash":
                        job, w.job, w.busy = w.job, None, False
                        idle.append(w)
                        if status == "error":
                            raise value
                        yield job, value
                        continue
                elif w.process.sentinel not in ready:
                    continue
                # the worker died holding its job
                w.process.join()
                crash = WorkerCrash(exit_reason(w.process.exitcode))
                job = w.job
                w.busy = False
                self._workers.remove(w)
                w.stop()
                self.crashes += 1
                idle.append(self._spawn())
                if on_crash is None:
                    raise crash
                outcome = on_crash(job, crash)
                retry.extendleft(reversed(outcome.retry))
                if outcome.result is not None:
                    yield job, outcome.result

    def close(self) -> None:
        """Stop every worker (a busy one is killed)."""
        for w in self._workers:
            w.stop()
        self._workers = []
