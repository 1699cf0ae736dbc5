"""Executors run the system and metric stages: one interface, a local process pool by default.

``Executor.map_unordered(fn, jobs)`` yields ``(job, result)`` as results arrive, so the runner can
commit each result as soon as it exists. ``Executor.map_system(system, fn, batches)`` runs a system
on batches of utterances, the system loaded once per worker; the local executor does that in this
process, in order. Executors are registered in :data:`EXECUTORS` (``--executor local|ray``).
"""

from __future__ import annotations

import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import TYPE_CHECKING, Any, TypeVar

from threadpoolctl import threadpool_limits

from bench.errors import UsageError
from bench.registry import Registry

if TYPE_CHECKING:
    from systems import System

J = TypeVar("J")
R = TypeVar("R")

#: jobs in flight per worker: enough to keep workers busy, bounded so memory does not grow with the corpus
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
    def map_unordered(self, fn: Callable[[J], R], jobs: Iterable[J]) -> Iterator[tuple[J, R]]:
        """Apply ``fn`` to each job; yield (job, result) as each finishes."""

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


def _one_thread_per_process() -> None:
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
    _one_thread_per_process()
    torch = sys.modules.get("torch")  # only if already loaded: importing it costs seconds per worker
    if torch is not None:
        torch.set_num_threads(1)


@EXECUTORS.decorator("local")
class LocalExecutor(Executor):
    """A process pool on this machine (``workers=1``: in this process, no pool)."""

    name = "local"

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        super().__init__(workers, address)
        self._pool: ProcessPoolExecutor | None = None

    def map_unordered(self, fn: Callable[[J], R], jobs: Iterable[J]) -> Iterator[tuple[J, R]]:
        if self.workers == 1:  # one worker means one core: no hidden BLAS threads either
            with threadpool_limits(1):
                for job in jobs:
                    yield job, fn(job)
            return
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, initializer=_init_worker)
        pending = {}
        it = iter(jobs)
        # keep a bounded number of jobs in flight so memory does not grow with the corpus
        for job in it:
            pending[self._pool.submit(fn, job)] = job
            if len(pending) >= IN_FLIGHT_PER_WORKER * self.workers:
                break
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                job = pending.pop(fut)
                yield job, fut.result()
                nxt = next(it, None)
                if nxt is not None:
                    pending[self._pool.submit(fn, nxt)] = nxt

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
