"""The report at the end of a run (``bench run`` and ``bench.run()``), rebuilt only when the results changed."""

from __future__ import annotations

import sys
from pathlib import Path


def report_after_run(out: Path, quiet: bool) -> None:
    """Build OUT/report, unless it was already built from exactly these results (a rerun of a finished run).

    A failure is a warning: the numbers are safe, and ``bench report OUT`` can build it later.
    """
    from bench.runfolder.paths import RunDir
    from reports.freshness import is_current, mark_current

    report_dir = RunDir(out).report_dir
    if is_current(out, report_dir):  # checked before the report code (matplotlib, ...) is imported
        if not quiet:
            print(f"report: {report_dir / 'index.html'} (unchanged)")
        return
    try:
        from reports import build_report

        path = build_report([out], None)
        mark_current(out, report_dir)
        if not quiet:
            print(f"report: {path}")
    except Exception as exc:  # noqa: BLE001 - the numbers are safe; a report problem must not hide them
        print(f"warning: the report could not be built ({exc.__class__.__name__}: {exc}); "
              f"try `bench report {out}`", file=sys.stderr)
