"""Whether a run's report is up to date: a fingerprint of everything the report is built from.

``bench run`` rebuilds the report at the end of every invocation; rerunning a finished run would redo
all plots for nothing. The fingerprint covers the result files, run.json without its per-invocation
keys (timestamps, command line), and the report code and templates; it is stored next to index.html.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from bench.atomic import write_text_atomic
from bench.runfolder import RunFolderError, read_manifest

#: run.json keys that change on every invocation without changing what the report shows
VOLATILE_KEYS = ("created", "finished", "command", "machine")
#: options in run.json ``config.options`` that say how a command ran, not what it computed or what the report shows
VOLATILE_OPTIONS = ("quiet", "report", "overwrite", "strict")
STAMP = ".inputs.sha256"
_CODE = Path(__file__).resolve().parent


def fingerprint(run_dir: Path) -> str:
    """sha256 over results.csv, summary.csv, run.json (minus :data:`VOLATILE_KEYS`) and the report code."""
    h = hashlib.sha256()
    for name in ("results.csv", "summary.csv"):
        path = run_dir / name
        h.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"-") + b"\0")
    run_json = run_dir / "run.json"
    if run_json.exists():
        try:
            doc = read_manifest(run_json).to_dict()
        except RunFolderError:  # the report says what is wrong with it; the fingerprint takes the bytes
            h.update(run_json.read_bytes())
        else:
            for key in VOLATILE_KEYS:
                doc.pop(key, None)
            for key in VOLATILE_OPTIONS:
                (doc.get("config") or {}).get("options", {}).pop(key, None)
            h.update(json.dumps(doc, sort_keys=True, default=str).encode())
    for path in sorted(p for p in _CODE.rglob("*") if p.is_file() and p.suffix in (".py", ".j2", ".css", ".js")):
        h.update(str(path.relative_to(_CODE)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def is_current(run_dir: Path, report_dir: Path) -> bool:
    """True when ``report_dir`` holds an index.html built from exactly the current inputs."""
    stamp = report_dir / STAMP
    return (report_dir / "index.html").exists() and stamp.exists() and stamp.read_text().strip() == fingerprint(
        run_dir)


def mark_current(run_dir: Path, report_dir: Path) -> None:
    """Record that ``report_dir`` was just built from the current inputs."""
    write_text_atomic(report_dir / STAMP, fingerprint(run_dir) + "\n")
