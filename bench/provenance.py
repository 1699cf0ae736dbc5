"""What makes a number reproducible: versions, git revision, machine, input checksums."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from metrics.base import library_version

#: the engine's own stack (reading, resampling, aligning, statistics), recorded with every run
CORE_DISTRIBUTIONS = ("codec-bench", "numpy", "scipy", "soundfile", "soxr")


def versions(systems: Iterable[Any] = (), metrics: Iterable[str] = ()) -> dict[str, Any]:
    """Versions of the engine's stack plus what each system and metric of the run says it uses.

    Args:
        systems: the run's systems (each reports its libraries: ``System.library_versions()``).
        metrics: the run's metric names (each declares ``spec.library`` and ``extra_libraries``).
    """
    from metrics import METRICS

    out: dict[str, Any] = {d: library_version(d) for d in CORE_DISTRIBUTIONS}
    for name in metrics:
        cls = METRICS.get(name)
        for lib in (cls.spec.library, *cls.extra_libraries):
            if lib:
                out[lib] = library_version(lib)
    for system in systems:
        out.update(system.library_versions())
    try:
        import soundfile

        out["libsndfile"] = soundfile.__libsndfile_version__
    except Exception:  # noqa: BLE001, S110 - provenance is best effort: a missing version is left out
        pass
    return out


def git_revision() -> str | None:
    """``<sha>[-dirty]`` of the checkout the package runs from, or None outside git."""
    root = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=False).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except Exception:  # noqa: BLE001 - no git, not a checkout: no revision recorded
        return None


def machine() -> dict[str, Any]:
    return {"hostname": socket.gethostname(), "platform": platform.platform(), "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count()}
