"""Atomic file writes for everything the suite writes (run folders, reports, listening tests).

A file is written under a hidden temporary name in its own folder, fsync'ed and renamed into place, so a
kill leaves either the previous file or the complete new one, never half a file. The temporary file is
created by the writer itself (``open``, ``savefig``, ``sf.write``), so the result gets the mode any new file
gets from the umask (0666 less the umask).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: prefix of the temporary names (hidden files; leftovers of a killed writer are recognisable)
TMP_PREFIX = ".tmp-"


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` (same suffix, so writers that look at it still work);
    on normal exit it is fsync'ed and renamed onto ``path``, on an exception it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-{path.name}")
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; returns ``path``."""
    return write_bytes_atomic(path, text.encode("utf-8"))


__all__ = ["TMP_PREFIX", "atomic_path", "write_bytes_atomic", "write_text_atomic"]
