"""A small generic registry: one instance per concept (systems, post-filters, metrics, corpora, executors).

Entries are either objects or lazy ``"module:attr"`` strings, so listing names never imports torch or
ViSQOL. Third-party packages add entries through a Python entry-point group.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class RegistryError(KeyError):
    """An unknown or duplicate name. The message suggests close matches."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


def _load(target: str) -> object:
    module, _, attr = target.partition(":")
    obj: object = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """Maps names (and aliases) to objects or lazy ``"module:attr"`` targets.

    Args:
        kind: what the entries are, used in messages ("system", "metric", ...).
        entry_point_group: the ``importlib.metadata`` group searched for third-party entries.
    """

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._entries: dict[str, T | str] = {}
        self._aliases: dict[str, str] = {}
        self._meta: dict[str, dict[str, Any]] = {}
        self._plugins_loaded = False

    def register(self, name: str, target: T | str, *, aliases: tuple[str, ...] = (),
                 meta: dict[str, Any] | None = None) -> None:
        """Add an entry. A name or alias that is already taken raises.

        ``meta``: what listings show without importing a lazy entry (e.g. ``{"summary": "..."}``).
        """
        for key in (name, *aliases):
            if key in self._entries or key in self._aliases:
                raise RegistryError(f"{self.kind} {key!r} is already registered")
        self._entries[name] = target
        if meta:
            self._meta[name] = dict(meta)
        for alias in aliases:
            self._aliases[alias] = name

    def decorator(self, name: str, *, aliases: tuple[str, ...] = ()):
        """``@REGISTRY.decorator("name")`` registers a class or function."""

        def wrap(obj: T) -> T:
            self.register(name, obj, aliases=aliases)
            return obj

        return wrap

    def _load_plugins(self) -> None:
        if self._plugins_loaded or not self.entry_point_group:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self.entry_point_group):
            if ep.name not in self._entries and ep.name not in self._aliases:
                self._entries[ep.name] = ep.value

    def resolve_name(self, name: str) -> str:
        """The canonical name for ``name`` (which may be an alias); raises with suggestions."""
        self._load_plugins()
        if name in self._entries:
            return name
        if name in self._aliases:
            return self._aliases[name]
        known = sorted([*self._entries, *self._aliases])
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(known)}"
        raise RegistryError(f"unknown {self.kind} {name!r}{hint}")

    def get(self, name: str) -> T:
        """The entry for ``name``, importing it if it was registered lazily."""
        key = self.resolve_name(name)
        entry = self._entries[key]
        if isinstance(entry, str):
            entry = _load(entry)  # type: ignore[assignment]
            self._entries[key] = entry
        return entry  # type: ignore[return-value]

    def names(self) -> list[str]:
        """Canonical names in registration order (built-ins first, then plugins)."""
        self._load_plugins()
        return list(self._entries)

    def meta(self, name: str) -> dict[str, Any]:
        """The metadata given at registration (empty for entry-point plugins), without importing."""
        return dict(self._meta.get(self.resolve_name(name), {}))

    def aliases(self) -> dict[str, str]:
        """Alias -> canonical name."""
        return dict(self._aliases)

    def __contains__(self, name: str) -> bool:
        try:
            self.resolve_name(name)
        except RegistryError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
