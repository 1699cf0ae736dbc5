"""Atomic report files: every file is written under a temporary name in its folder and renamed into place,
so a kill during ``bench report`` leaves either the previous file or the complete new one, never half a file.

Temporary names start with ``.tmp-`` (hidden); the file is created by the writer itself, so it gets the
usual mode from the umask (not mkstemp's 0600).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TMP_PREFIX = ".tmp-"


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` (same suffix, so writers that look at it still work);
    on normal exit it is fsynced and renamed onto ``path``, on an exception it is removed."""
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


def write_text(path: Path, text: str) -> Path:
    """Write UTF-8 text atomically; returns ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def remove_stale(folder: Path, keep: set[Path]) -> None:
    """Delete files under ``folder`` that are not in ``keep`` (a previous build's leftovers, or temporary
    files of a killed one), then empty folders. Called after the new index pages are in place."""
    if not folder.is_dir():
        return
    keep = {p.resolve() for p in keep}
    for p in sorted(folder.rglob("*"), reverse=True):
        if p.is_file() and p.resolve() not in keep:
            p.unlink()
        elif p.is_dir() and not any(p.iterdir()):
            p.rmdir()


__all__ = ["TMP_PREFIX", "atomic_path", "remove_stale", "write_text"]
