"""``--executor ray``: metric jobs as Ray CPU tasks, systems as Ray actors (one GPU each on CUDA).

Without ``--ray-address`` a new private Ray instance starts on this machine (loopback only, no dashboard,
``--workers`` CPUs) and stops when the run ends, even when a cluster is running here or ``RAY_ADDRESS``
is set (those are joined only when asked with ``--ray-address``); ``--ray-address auto`` joins a running local cluster,
``ray://HOST:PORT`` a remote one through Ray Client. Jobs carry paths into the run folder, so every Ray
node must see the run folder at the same path (a shared file system) and have codec-bench installed.

The main process still writes every output file and appends every result to results.jsonl as it
arrives, so durability and resume are the same as with the local executor. Ray is imported here only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bench.executors import IN_FLIGHT_PER_WORKER, Executor, ExecutorError
from bench.isolation import OnCrash, WorkerCrash

if TYPE_CHECKING:
    from systems import System

J = TypeVar("J")
R = TypeVar("R")

#: object store of a Ray instance started here: jobs and batches are small, the machine is shared
LOCAL_OBJECT_STORE_BYTES = 256 * 1024 * 1024


class _SystemWorker:
    """A Ray actor body: holds one system (weights loaded once) and runs batches through it."""

    def __init__(self, system: System) -> None:
        self.system = system

    def run(self, fn: Callable[[System, J], R], batch: J) -> R:
        return fn(self.system, batch)


def _start_reaper(ray: Any) -> subprocess.Popen | None:
    """A watchdog (:mod:`bench.reaper`) for the private instance: if this process dies without shutting Ray
    down (kill -9), it SIGKILLs the instance's processes and what its raylet started (the DashboardAgent and
    RuntimeEnvAgent otherwise live about a minute longer). None where it cannot run (not Linux, Ray internals
    changed)."""
    if not sys.platform.startswith("linux"):
        return None
    from bench.reaper import children, start_time

    try:
        node = ray._private.worker._global_node
        pids = [p.process.pid for infos in node.all_processes.values() for p in infos]
    except AttributeError:
        return None
    pids += [c for p in pids for c in children(p)]
    targets = [f"{p}:{t}" for p in dict.fromkeys(pids) if (t := start_time(p))]
    return subprocess.Popen([sys.executable, "-I", str(Path(__file__).with_name("reaper.py")), *targets],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


class RayExecutor(Executor):
    """Ray tasks for metrics, Ray actors for systems; a bounded number of jobs in flight."""

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.address = address
        os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
        if address is None:  # a private single-node instance: loopback only (the node IP becomes 127.0.0.1)
            os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
            # Ray would otherwise turn on token authentication for a new local instance, write a token to
            # ~/.ray/auth_token (outside the run folder) and print a banner about it; a setting of the user's
            # own is kept
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        try:
            import ray
        except ImportError:
            raise ExecutorError("--executor ray: ray is not installed (pip install 'codec-bench[ray]')") from None
        self._ray = ray
        self._connected = False
        self._reaper: subprocess.Popen | None = None
        if not ray.is_initialized():
            try:
                if address is None:  # "local": always a new instance, never RAY_ADDRESS or a running cluster
                    ray.init(address="local", num_cpus=self.workers, include_dashboard=False, log_to_driver=False,
                             object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                             configure_logging=False)
                else:
                    ray.init(address=address, log_to_driver=False, configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ExecutorError(f"--executor ray: cannot start or reach Ray at {address or 'localhost'}: "
                                    f"{exc}") from None
            self._connected = True
            if address is None:
                self._reaper = _start_reaper(ray)
        self.slots = max(1, int(ray.cluster_resources().get("CPU", self.workers)))
        self._tasks: dict[Callable[..., Any], Any] = {}

    def map_unordered(self, fn: Callable[[J], R], jobs: Iterable[J],
                      on_crash: OnCrash | None = None) -> Iterator[tuple[J, R]]:
        ray = self._ray
        if fn not in self._tasks:  # no automatic retry: a job that kills its worker would kill it again
            self._tasks[fn] = ray.remote(num_cpus=1, max_retries=0)(fn)
        task = self._tasks[fn]
        it = iter(jobs)
        retry: deque[J] = deque()
        pending: dict[Any, J] = {}

        def submit() -> bool:
            if retry:
                job = retry.popleft()
                pending[task.remote(job)] = job
                return True
            for job in it:
                pending[task.remote(job)] = job
                return True
            return False

        while len(pending) < IN_FLIGHT_PER_WORKER * self.slots and submit():
            pass
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                job = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.WorkerCrashedError as exc:
                    crash = WorkerCrash(f"died (Ray: {str(exc).splitlines()[0][:200]})")
                    if on_crash is None:
                        raise crash from None
                    outcome = on_crash(job, crash)
                    retry.extendleft(reversed(outcome.retry))
                    while len(pending) < IN_FLIGHT_PER_WORKER * self.slots and submit():
                        pass
                    if outcome.result is not None:
                        yield job, outcome.result
                    continue
                submit()
                yield job, result

    def map_system(self, system: System, fn: Callable[[System, J], R], batches: Iterable[J]) -> Iterator[tuple[J, R]]:
        """Each actor holds its own copy of the system; on CUDA each asks for one GPU."""
        ray = self._ray
        batches = list(batches)
        if not batches:
            return
        on_gpu = system.settings.device.startswith("cuda")
        if on_gpu:
            if system.settings.device not in ("cuda", "cuda:0"):
                raise ExecutorError(f"--device {system.settings.device} with --executor ray: use --device cuda "
                                    "(Ray gives each actor its own GPU, which it sees as cuda:0)")
            n_gpus = int(ray.cluster_resources().get("GPU", 0))
            if n_gpus < 1:
                raise ExecutorError(f"--device {system.settings.device}: the Ray cluster has no GPU")
            n_actors, resources = n_gpus, {"num_gpus": 1, "num_cpus": 1}
        else:
            n_actors, resources = self.slots, {"num_cpus": 1}
        n_actors = min(n_actors, len(batches))
        try:
            system_ref = ray.put(system)
        except Exception as exc:  # noqa: BLE001 - e.g. a plugin holding an OS handle: run it here, results are the same
            print(f"warning: {system.name} cannot be sent to Ray workers ({exc.__class__.__name__}: {exc}); "
                  "running it in this process", file=sys.stderr)
            yield from super().map_system(system, fn, batches)
            return
        actor_cls = ray.remote(**resources)(_SystemWorker)
        actors = [actor_cls.remote(system_ref) for _ in range(n_actors)]
        try:
            it = iter(batches)
            pending: dict[Any, tuple[J, Any]] = {}

            def submit(actor: Any) -> None:
                for batch in it:
                    pending[actor.run.remote(fn, batch)] = (batch, actor)
                    return

            for _ in range(IN_FLIGHT_PER_WORKER):
                for actor in actors:
                    submit(actor)
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    batch, actor = pending.pop(ref)
                    result = ray.get(ref)
                    submit(actor)
                    yield batch, result
        finally:
            for actor in actors:
                ray.kill(actor)
            del system_ref

    def close(self) -> None:
        if self._connected:
            self._ray.shutdown()
            self._connected = False
        if self._reaper is not None:  # Ray is down: whatever of it still runs goes now
            self._reaper.stdin.close()
            self._reaper.wait(timeout=30)
            self._reaper = None

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "workers": self.slots, "address": self.address}
