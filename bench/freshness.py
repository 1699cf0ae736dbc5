"""Whether work cached in a run folder still matches the files it was computed from.

A reference sidecar records its input's checksum and ``stat`` (size, mtime); a ``files:`` output's sidecar
records the same for the file it was read from. On a rerun, :func:`still_matches` compares size and mtime
first (no read) and the SHA-256 only when they differ, so a file touched but not changed is not recomputed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from bench.audio import sha256_file


def fingerprint(path: str | Path | None) -> dict[str, Any]:
    """``{"path", "sha256", "size", "mtime_ns"}`` of a file; ``sha256`` None (and no stat) when it is not a
    readable file, ``path`` None when there is no file at all."""
    if path is None:
        return {"path": None, "sha256": None}
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):  # a FIFO or device is never read: it could block for ever
            return {"path": str(path), "sha256": None}
        return {"path": str(path), "sha256": sha256_file(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    except OSError:
        return {"path": str(path), "sha256": None}


def still_matches(path: str | Path | None, recorded: dict[str, Any], *, same_path: bool = True) -> bool:
    """Whether ``path`` is the file ``recorded`` (a :func:`fingerprint`) describes: the same path (unless
    ``same_path`` is False), and the same size and mtime, or else the same SHA-256; a missing or unreadable
    file matches a record of one."""
    if same_path and (None if path is None else str(path)) != recorded.get("path"):
        return False
    if path is None:
        return True
    try:
        st = os.stat(path)
    except OSError:
        return recorded.get("sha256") is None
    if not stat.S_ISREG(st.st_mode):
        return recorded.get("sha256") is None
    if st.st_size == recorded.get("size") and st.st_mtime_ns == recorded.get("mtime_ns"):
        return True
    try:
        return recorded.get("sha256") is not None and sha256_file(path) == recorded["sha256"]
    except OSError:
        return False


__all__ = ["fingerprint", "still_matches"]
