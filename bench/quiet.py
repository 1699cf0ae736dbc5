"""Keep what metric libraries print away from the caller's output.

Some libraries write to stdout from C or Python when they fail (``pesq`` prints its docstring on some
errors). In a notebook or a script piping ``bench`` output, that text would land in the user's output.
:func:`captured_stdout` redirects file descriptor 1 *and* ``sys.stdout`` to a temporary file for the
duration of a call; what was printed is available afterwards (and is added to error messages).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class Captured:
    """What was printed inside :func:`captured_stdout` (filled when the block ends)."""

    text: str = ""


@contextlib.contextmanager
def captured_stdout() -> Iterator[Captured]:
    """Redirect fd 1 and ``sys.stdout`` into a temporary file for the block; restore both afterwards.

    Process-wide (file descriptors are shared by threads): use it around one library call at a time.
    """
    captured = Captured()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        saved = os.dup(1)
        try:
            os.dup2(tmp.fileno(), 1)
            with contextlib.redirect_stdout(_FdWriter(tmp.fileno())):
                yield captured
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            tmp.seek(0)
            captured.text = tmp.read().decode("utf-8", "replace")


class _FdWriter:
    """A text stream for ``sys.stdout`` writing unbuffered to the capture file (Python-level prints)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def write(self, text: str) -> int:
        os.write(self._fd, text.encode("utf-8", "replace"))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False
