"""A watchdog that ends processes when the process that started it dies (run as a script, stdlib only).

``python bench/reaper.py PID:START ...`` blocks reading its stdin, a pipe from its parent; when the pipe
closes (the parent exited or was killed, even by SIGKILL) it sends SIGKILL to each listed process that still
runs, if it is the same process (its start time, field 22 of ``/proc/PID/stat``, is unchanged: a pid the
system reused is left alone). Started in its own session, so a signal to the parent's process group (Ctrl-C,
``kill -9 -PGID``) does not end it first.

The Ray executor uses it for the agents of its private Ray instance (DashboardAgent, RuntimeEnvAgent):
after a ``kill -9`` of ``bench run`` they otherwise live about a minute.
"""

from __future__ import annotations

import os
import signal
import sys


def start_time(pid: int) -> str | None:
    """Field 22 of ``/proc/PID/stat`` (ticks after boot), None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (Linux ``/proc``)."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(name))
            except (OSError, IndexError, ValueError):
                continue
    return out


def main(argv: list[str]) -> int:
    targets = [(int(p), t) for p, _, t in (a.partition(":") for a in argv)]
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except OSError:
        pass
    for pid, started in targets:
        if start_time(pid) == started:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
