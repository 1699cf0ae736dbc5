"""Executors run the system and metric stages: one interface, a local process pool by default.

``Executor.map_unordered(fn, jobs)`` yields ``(job, result)`` as results arrive, so the runner can
commit each result as soon as it exists. ``Executor.map_system(system, fn, batches)`` runs a system
on batches of utterances, the system loaded once per worker; the local executor does that in this
process, in order, except for systems marked ``isolated`` (native codecs), which it runs in one worker
process forked after they are built: a crash there costs the batch's utterances one by one, never the run.
Executors are registered in :data:`EXECUTORS` (``--executor local|ray``).
"""

from __future__ import annotations

import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from threadpoolctl import threadpool_limits

from bench.errors import UsageError
from bench.isolation import CrashOutcome, IsolatedPool, OnCrash, WorkerCrash
from bench.registry import Registry

if TYPE_CHECKING:
    from systems import System

J = TypeVar("J")
R = TypeVar("R")

#: jobs in flight per worker (Ray): enough to keep workers busy, bounded so memory does not grow with the corpus
IN_FLIGHT_PER_WORKER = 2


class ExecutorError(UsageError):
    """The executor cannot do what was asked (missing package, bad address, no GPU); the message says why."""


class Executor(ABC):
    """Runs independent jobs; results come back in any order.

    Args:
        workers: parallel workers (default: all cores).
        address: where to find a cluster (only executors that use one accept it).
    """

    name: str = ""

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        if address is not None:
            raise ExecutorError(f"--ray-address applies to --executor ray, not --executor {self.name}")
        self.workers = max(1, workers or os.cpu_count() or 1)

    @abstractmethod
    def map_unordered(self, fn: Callable[[J], R], jobs: Iterable[J],
                      on_crash: OnCrash | None = None) -> Iterator[tuple[J, R]]:
        """Apply ``fn`` to each job; yield (job, result) as each finishes.

        A job whose worker process dies (segfault, abort, out of memory) goes to ``on_crash(job, crash)``,
        which returns what to yield for it and which jobs to run instead (:class:`bench.isolation.CrashOutcome`);
        without ``on_crash`` the :class:`bench.isolation.WorkerCrash` is raised.
        """

    def map_system(self, system: System, fn: Callable[[System, J], R], batches: Iterable[J]) -> Iterator[tuple[J, R]]:
        """Apply ``fn(system, batch)`` to each batch; yield (batch, result) as each finishes.

        The default runs in this process, in order, with the system as it is (weights loaded once).
        """
        for batch in batches:
            yield batch, fn(system, batch)

    def close(self) -> None:
        """Release workers."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "workers": self.workers}


EXECUTORS: Registry[type[Executor]] = Registry("executor", "codec_bench.executors")
EXECUTORS.register("ray", "bench.ray_executor:RayExecutor")


#: read by OpenMP, numba and OpenBLAS when they load; libraries already loaded are limited at run time
_THREAD_VARS = ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def one_thread_per_process() -> None:
    """Keep numeric libraries to one thread: the pool is the parallelism.

    OpenBLAS starts a thread per core; pystoi's band matmul then spun on every core, so one worker
    already used both cores and two workers were no faster than one. Libraries loaded before this call
    (numpy's OpenBLAS, inherited through fork) are limited with threadpoolctl; libraries loaded later in the
    process (scipy's own OpenBLAS, numba for ViSQOL) read the environment variables.
    """
    for var in _THREAD_VARS:
        os.environ.setdefault(var, "1")
    threadpool_limits(1)


def _init_worker() -> None:
    one_thread_per_process()
    torch = sys.modules.get("torch")  # only if already loaded: importing it costs seconds per worker
    if torch is not None:
        torch.set_num_threads(1)


@EXECUTORS.decorator("local")
class LocalExecutor(Executor):
    """Worker processes on this machine (:class:`bench.isolation.IsolatedPool`), even with ``workers=1``.

    Jobs never run in this process: a metric library that crashes its process costs that job (see
    ``on_crash``), never the run, and workers die with this process.
    """

    name = "local"

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        super().__init__(workers, address)
        self._pool: IsolatedPool | None = None
        self._start_pool()  # now, before the system stage: the workers fork from a small process

    def _start_pool(self) -> IsolatedPool:
        if self._pool is None:
            self._pool = IsolatedPool(self.workers, initializer=_init_worker)
            self._pool.start()
        return self._pool

    def map_unordered(self, fn: Callable[[J], R], jobs: Iterable[J],
                      on_crash: OnCrash | None = None) -> Iterator[tuple[J, R]]:
        yield from self._start_pool().map_unordered(fn, jobs, on_crash)

    def map_system(self, system: System, fn: Callable[[System, J], R], batches: Iterable[J]) -> Iterator[tuple[J, R]]:
        if not (system.isolated and system.settings.device == "cpu" and sys.platform.startswith("linux")):
            yield from super().map_system(system, fn, batches)
            return
        yield from _map_isolated_system(system, fn, batches)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


#: the system an isolated system worker runs: set before its pool forks, so the worker inherits it as built
_FORKED_SYSTEM: System | None = None


def _run_forked_system(job: tuple[Callable[[System, J], R], J]) -> R:
    fn, batch = job
    assert _FORKED_SYSTEM is not None
    return fn(_FORKED_SYSTEM, batch)


def _map_isolated_system(system: System, fn: Callable[[System, J], R], batches: Iterable[J]) -> Iterator[tuple[J, R]]:
    """``fn(system, batch)`` in one forked worker process; a batch whose worker dies is retried one utterance
    at a time in fresh workers, and an utterance that kills its worker fails with the reason."""
    from bench.system_stage import BatchResult, SystemBatch

    def on_crash(job: tuple[Callable[[System, J], R], SystemBatch], crash: WorkerCrash) -> CrashOutcome:
        _, batch = job
        if len(batch.ids) > 1:
            return CrashOutcome(retry=[(fn, SystemBatch((i,), (p,))) for i, p in zip(batch.ids, batch.reference_paths)])
        return CrashOutcome(result=BatchResult([f"its worker process {crash.reason}"], [0.0]))

    global _FORKED_SYSTEM
    _FORKED_SYSTEM = system
    pool = IsolatedPool(1, initializer=_init_worker)
    try:
        for (_, batch), result in pool.map_unordered(_run_forked_system, ((fn, b) for b in batches), on_crash):
            yield batch, result
    finally:
        pool.close()
        _FORKED_SYSTEM = None
