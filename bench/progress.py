"""Progress reporting: a tqdm bar with ETA on a terminal, plain progress lines otherwise (logs, CI)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


class Progress:
    """``with Progress(total, "metrics") as p: ... p.update()``."""

    def __init__(self, total: int, desc: str, *, stream=None, quiet: bool = False) -> None:
        self.total, self.desc, self.quiet = total, desc, quiet
        self.stream = stream or sys.stderr
        self.done = 0
        self._bar = None
        self._t0 = time.monotonic()
        self._next_line = 0.0
        if not quiet and total and self.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="item", file=self.stream, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.quiet or not self.total:
            return
        if self._bar is not None:
            self._bar.update(n)
            return
        frac = self.done / self.total
        if frac >= self._next_line or self.done == self.total:
            elapsed = time.monotonic() - self._t0
            eta = elapsed / self.done * (self.total - self.done) if self.done else 0.0
            print(f"{self.desc}: {self.done}/{self.total} ({frac:.0%}) elapsed {elapsed:.1f}s eta {eta:.1f}s",
                  file=self.stream, flush=True)
            self._next_line = frac + 0.1

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:  # noqa: PYI034 - a final class: Progress is never subclassed
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def track(items: Iterable[T], total: int, desc: str, quiet: bool = False) -> Iterator[T]:
    """Iterate with progress."""
    with Progress(total, desc, quiet=quiet) as p:
        for item in items:
            yield item
            p.update()
