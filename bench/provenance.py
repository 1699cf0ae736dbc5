"""What makes a number reproducible: versions, git revision, machine, input checksums."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from pathlib import Path
from typing import Any

from metrics.base import library_version

#: PyPI distributions whose versions are recorded with every run
DISTRIBUTIONS = ("codec-bench", "numpy", "scipy", "torch", "soundfile", "soxr", "pesq", "pystoi",
                 "visqol-python", "numba", "opuslib", "pyloudnorm", "matplotlib")


def versions() -> dict[str, Any]:
    """Versions of the package, its numeric stack, metric libraries and libopus."""
    out: dict[str, Any] = {d: library_version(d) for d in DISTRIBUTIONS}
    from systems.opus import libopus_version

    out["libopus"] = libopus_version()
    try:
        import soundfile

        out["libsndfile"] = soundfile.__libsndfile_version__
    except Exception:
        pass
    return out


def git_revision() -> str | None:
    """``<sha>[-dirty]`` of the checkout the package runs from, or None outside git."""
    root = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except Exception:
        return None


def machine() -> dict[str, Any]:
    return {"hostname": socket.gethostname(), "platform": platform.platform(), "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count()}
