"""Leftovers of report builds. Report files are written atomically through :mod:`bench.atomic` (temporary
name in the same folder, fsync, rename), so a kill during ``bench report`` leaves either the previous file
or the complete new one; this module removes what a previous or killed build left behind."""

from __future__ import annotations

from pathlib import Path


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


__all__ = ["remove_stale"]
