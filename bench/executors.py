"""Executors run the metric stage: one interface, a local process pool by default.

``Executor.map_unordered(fn, jobs)`` yields ``(job, result)`` as results arrive, so the runner can
commit each result as soon as it exists.
"""

from __future__ import annotations

import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from bench.registry import Registry

J = TypeVar("J")
R = TypeVar("R")


class Executor(ABC):
    """Runs independent jobs; results come back in any order."""

    name: str = ""

    @abstractmethod
    def map_unordered(self, fn: Callable[[J], R], jobs: Iterable[J]) -> Iterator[tuple[J, R]]:
        """Apply ``fn`` to each job; yield (job, result) as each finishes."""

    def close(self) -> None:
        """Release workers."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}


EXECUTORS: Registry[type[Executor]] = Registry("executor", "codec_bench.executors")


def _init_worker() -> None:
    # one BLAS/torch thread per worker process: the pool provides the parallelism
    for var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    torch = sys.modules.get("torch")  # only if already loaded: importing it costs seconds per worker
    if torch is not None:
        torch.set_num_threads(1)


@EXECUTORS.decorator("local")
class LocalExecutor(Executor):
    """A process pool on this machine (``workers=1``: in this process, no pool)."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def map_unordered(self, fn: Callable[[J], R], jobs: Iterable[J]) -> Iterator[tuple[J, R]]:
        jobs = list(jobs)
        if self.workers == 1:
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
            if len(pending) >= 2 * self.workers:
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

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "workers": self.workers}
