"""Storage calls off the event loop: reads in worker threads, writes on one writer thread (group commit)."""

from __future__ import annotations

import asyncio
import functools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

import anyio.to_thread

from listening_test.storage import Storage

T = TypeVar("T")


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking (storage) read in a worker thread and await it."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args))


class Writer:
    """One dedicated thread for every storage write. Writes that queue up while one commit is on disk
    are committed together (group commit: one fsync for many participants, each write still atomic on
    its own); a participant's request is answered only after its write is committed."""

    MAX_GROUP = 256

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future]] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="listening-test-writer", daemon=True).start()

    async def __call__(self, fn: Callable[..., T], *args: Any) -> T:
        future: Future = Future()
        self.jobs.put((functools.partial(fn, *args), future))
        return await asyncio.wrap_future(future)

    def _run(self) -> None:
        while True:
            group = [self.jobs.get()]
            while len(group) < self.MAX_GROUP:
                try:
                    group.append(self.jobs.get_nowait())
                except queue.Empty:
                    break
            outcomes: list[tuple[Future, bool, Any]] = []
            try:
                with self.storage.batch():
                    for job, future in group:
                        try:
                            outcomes.append((future, True, job()))
                        except Exception as exc:  # noqa: BLE001 - handed to the waiting request
                            outcomes.append((future, False, exc))
            except Exception as exc:  # noqa: BLE001 - the commit failed: every write of the group failed
                outcomes = [(future, False, exc) for _, future in group]
            for future, ok, value in outcomes:
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
