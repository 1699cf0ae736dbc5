"""What a report folder holds that the report wrote. Report files are written atomically through
:mod:`bench.atomic` (temporary name in the same folder, fsync, rename), so a kill during ``bench report``
leaves either the previous file or the complete new one.

Each build lists the files it wrote in :data:`MANIFEST`; only those (and temporary files of a killed build)
are ever replaced or removed by the next one. A folder that is not empty and holds no such list is not a
report folder: ``bench report --out`` refuses it rather than overwrite or delete what is in it.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.atomic import TMP_PREFIX, write_text_atomic
from bench.errors import UsageError

#: the files the last build of a report folder wrote (paths relative to the folder, JSON)
MANIFEST = ".codec-bench-report.json"


class ReportFolder:
    """A report's output folder and the files in it that are the suite's.

    Args:
        out: the folder.
        own: the suite's own folder (a run folder's ``report/``): when it has no manifest yet (a report from
            an older version), everything in it is the suite's.

    Raises:
        UsageError: ``out`` is not empty and is neither a report folder nor the suite's own.
    """

    def __init__(self, out: Path, *, own: bool = False) -> None:
        self.out = out
        present = _files(out)
        listed = self._listed()
        if listed is None and not own and _older_report(out):
            listed = set()  # a report of an older version: rebuilt, but none of its files is removed
        if listed is None:
            if present and not own:
                shown = ", ".join(str(p.relative_to(out)) for p in sorted(present)[:3])
                raise UsageError(f"--out {out}: the folder holds files no codec-bench report wrote ({shown}"
                                 f"{' ...' if len(present) > 3 else ''}); give a new or empty folder, or the folder of "
                                 "an earlier report")
            listed = present if own else set()
        #: files the previous build wrote (may be replaced or removed)
        self.ours = listed
        #: files someone else put here (never touched)
        self.theirs = present - listed

    def _listed(self) -> set[Path] | None:
        path = self.out / MANIFEST
        if not path.is_file():
            return None
        try:
            names = json.loads(path.read_text(encoding="utf-8"))["files"]
        except (ValueError, KeyError, TypeError):
            return set()
        return {self.out / n for n in names if isinstance(n, str) and ".." not in Path(n).parts}

    def remove_stale(self, folder: Path, keep: set[Path]) -> None:
        """Delete files under ``folder`` that the previous build wrote and this one does not (``keep``), and
        temporary files of a killed build, then folders left empty. Called after the new pages are in place."""
        if not folder.is_dir():
            return
        keep = {p.resolve() for p in keep}
        ours = {p.resolve() for p in self.ours}
        for p in sorted(folder.rglob("*"), reverse=True):
            if p.is_file() and not p.is_symlink() and p.resolve() not in keep and (
                    p.resolve() in ours or p.name.startswith(TMP_PREFIX)):
                p.unlink()
            elif p.is_dir() and not p.is_symlink() and not any(p.iterdir()):
                p.rmdir()

    def record(self) -> None:
        """List every file now in the folder, except the ones someone else put there, as the build's."""
        mine = sorted(str(p.relative_to(self.out)) for p in _files(self.out) - self.theirs)
        write_text_atomic(self.out / MANIFEST, json.dumps({"files": mine}, indent=0))


def _older_report(out: Path) -> bool:
    """A report folder written before reports listed their files: its index.html says who wrote it."""
    try:
        return "Written by codec-bench" in (out / "index.html").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _files(out: Path) -> set[Path]:
    if not out.is_dir():
        return set()
    return {p for p in out.rglob("*") if (p.is_file() or p.is_symlink()) and p.name != MANIFEST
            and not p.name.startswith(TMP_PREFIX)}


__all__ = ["MANIFEST", "ReportFolder"]
