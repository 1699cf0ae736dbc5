"""Atomic file writes for everything the suite writes (run folders, reports, listening tests).

A file is written under a hidden temporary name in its own folder, fsync'ed and renamed into place, so a
kill leaves either the previous file or the complete new one, never half a file. The temporary file is
created by the writer itself (``open``, ``savefig``, ``sf.write``), so the result gets the mode any new file
gets from the umask (0666 less the umask).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: prefix of the temporary names (hidden files; leftovers of a killed writer are recognisable)
TMP_PREFIX = ".tmp-"
#: a temporary name: ``.tmp-<pid>-<8 hex digits><suffix>`` (the writer's pid; no part of the final name but a
#: short suffix, so a long file name never makes a too long temporary one)
TMP_NAME = re.compile(r"^\.tmp-(\d+)-[0-9a-f]{8}(?:\.[A-Za-z0-9]{1,16}|-.+)?$")  # -<name>: older versions


def temporary_name(path: Path) -> Path:
    """A fresh temporary name next to ``path``, with its suffix when short (writers such as ``savefig`` and
    ``sf.write`` choose the format from it)."""
    suffix = path.suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,16}", path.suffix) else ""
    return path.with_name(f"{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}{suffix}")


def remove_stale_temporaries(root: Path) -> list[Path]:
    """Delete the temporary files under ``root`` that writers killed earlier left (the name is this module's
    and the pid in it is no live process; other files, and those of live writers, are kept). Returns them."""
    gone = []
    for folder, _, files in os.walk(root):
        for name in files:
            m = TMP_NAME.match(name)
            if m and not _alive(int(m.group(1))):
                (Path(folder) / name).unlink(missing_ok=True)
                gone.append(Path(folder) / name)
    return gone


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # another user's live process
        return True
    return True


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` (same suffix, so writers that look at it still work);
    on normal exit it is fsync'ed and renamed onto ``path``, on an exception it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
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


__all__ = ["TMP_NAME", "TMP_PREFIX", "atomic_path", "remove_stale_temporaries", "temporary_name",
           "write_bytes_atomic", "write_text_atomic"]
