"""One writer per run folder: ``bench run`` holds an exclusive lock on ``OUT/.lock`` while it works.

The lock is an ``flock`` on the file, so the kernel drops it when its holder dies (``kill -9`` included):
a lock left by a killed run is stale by construction, and the next run takes it over (and says so).
The file holds who has the lock (pid, host, start time, command), for the message a second run prints.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
import sys
from pathlib import Path
from typing import IO, Any

from bench.errors import UsageError

LOCK_NAME = ".lock"


class RunFolderBusy(UsageError):
    """Another process is writing to this run folder."""


def _describe(info: dict[str, Any]) -> str:
    cmd = " ".join(info.get("command", []))
    return (f"pid {info.get('pid', '?')} on {info.get('host', '?')}, since {info.get('started', '?')}"
            + (f": {cmd}" if cmd else ""))


class RunLock:
    """Exclusive lock on a run folder; use as a context manager.

    Args:
        root: the run folder (must exist).
    Raises:
        RunFolderBusy: another live process holds the lock (the message says which).
    """

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / LOCK_NAME
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        try:
            fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held open while the lock is held
        except OSError as exc:
            raise UsageError(f"--out {self.path.parent}: cannot write there ({exc.strerror})") from None
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            info = _read(fh.read())
            fh.close()
            raise RunFolderBusy(f"--out {self.path.parent} is in use by another bench run ({_describe(info)}); "
                                "wait for it to finish or use another --out") from None
        fh.seek(0)
        previous = _read(fh.read())
        if previous:
            print(f"warning: {self.path.parent} was left locked by a run that is gone ({_describe(previous)}); "
                  "taking over", file=sys.stderr)
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                             "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                             "command": sys.argv}))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is None:
            return
        self._fh.seek(0)
        self._fh.truncate()  # an empty lock file means "released cleanly"
        self._fh.flush()
        fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
        self._fh.close()
        self._fh = None

    def __enter__(self) -> RunLock:  # noqa: PYI034
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read(text: str) -> dict[str, Any]:
    try:
        info = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return info if isinstance(info, dict) else {}
