"""codec-bench: evaluation and listening-test suite for neural speech codecs.

Python API (see docs/python_api.md), imported on first use so that ``import bench`` stays light:

- :func:`evaluate` scores numpy arrays at any rate as a run does (resampling, alignment);
- :func:`run` is ``bench run`` with the same options;
- :func:`load_results` reads a run folder into pandas (results in long format, and the summary);
- :func:`list_systems`, :func:`list_metrics` and the registries :data:`SYSTEMS`, :data:`METRICS`.
"""

from __future__ import annotations

__version__ = "0.1.0"

#: the suite's other top-level packages, installed next to ``bench``
SIBLING_PACKAGES = ("systems", "metrics", "reports", "listening_test")


class ShadowedPackageError(ImportError):
    """A module of the user's (``metrics.py`` in the current folder) hides one of the suite's packages."""


def _check_siblings() -> None:
    """Raise :class:`ShadowedPackageError` when ``import systems`` (or metrics, ...) would not find the suite's
    own package next to this one, but a file or folder earlier on ``sys.path`` (typically the current one)."""
    import importlib.util
    import sys
    from pathlib import Path

    home = Path(__file__).resolve().parent.parent
    for name in SIBLING_PACKAGES:
        module = sys.modules.get(name)
        try:
            origin = getattr(module, "__file__", None) if module else getattr(importlib.util.find_spec(name),
                                                                              "origin", None)
        except (ImportError, ValueError):
            continue
        if not origin:
            continue  # a folder without __init__.py hides nothing
        found = Path(origin).resolve()
        if found != home / name / "__init__.py" and not found.is_relative_to(home / name):
            if not (home / name / "__init__.py").is_file():
                continue  # that part of the suite is not installed in this build
            shown = found.parent if found.name == "__init__.py" else found
            raise ShadowedPackageError(
                f"{shown} hides codec-bench's own '{name}' package ({home / name}): Python finds yours first "
                f"because {shown.parent} is on sys.path (the current folder or the script's). Rename it "
                f"(e.g. my_{name}{'.py' if shown.suffix == '.py' else ''}) or run from another folder.")


_check_siblings()

_API = {
    "evaluate": "bench.api", "run": "bench.api", "load_results": "bench.api", "list_systems": "bench.api",
    "list_metrics": "bench.api", "Evaluation": "bench.api", "Results": "bench.api",
    "SYSTEMS": "systems", "METRICS": "metrics",
}

__all__ = ["METRICS", "SYSTEMS", "Evaluation", "Results", "__version__", "evaluate", "list_metrics",
           "list_systems", "load_results", "run"]


def __getattr__(name: str):
    if name in _API:
        import importlib

        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'bench' has no attribute {name!r}")
