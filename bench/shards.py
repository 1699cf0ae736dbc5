"""``--shard I/N``: split one run over several machines or jobs, then ``bench merge`` the parts.

Assignment is by position after sorting by utterance id (corpora list utterances sorted by id, and
``--limit`` is applied first): the k-th utterance (0-based) goes to shard ``k mod N + 1``. Shards are
disjoint, together cover the selection, differ in size by at most one, and the assignment depends only
on the selected ids, never on the machine or the order files were found.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from bench.errors import UsageError

T = TypeVar("T")
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (1-based: ``1/2`` and ``2/2``)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 1 <= self.index <= self.count:
            raise UsageError(f"--shard {self.index}/{self.count}: need 1 <= I <= N")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"2/4"`` -> ``Shard(2, 4)``; anything else is a usage error."""
        m = _SPEC.match(text)
        if not m:
            raise UsageError(f"--shard {text!r}: expected I/N, e.g. 1/4")
        return cls(int(m.group(1)), int(m.group(2)))

    def select(self, items: Sequence[T]) -> list[T]:
        """This shard's items from a list sorted by utterance id."""
        return list(items[self.index - 1::self.count])

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
