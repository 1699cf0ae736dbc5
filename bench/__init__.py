"""codec-bench: evaluation and listening-test suite for neural speech codecs.

Python API (see docs/python_api.md), imported on first use so that ``import bench`` stays light:

- :func:`evaluate` scores numpy arrays at any rate as a run does (resampling, alignment);
- :func:`run` is ``bench run`` with the same options;
- :func:`load_results` reads a run folder into pandas (results in long format, and the summary);
- :func:`list_systems`, :func:`list_metrics` and the registries :data:`SYSTEMS`, :data:`METRICS`.
"""

from __future__ import annotations

__version__ = "0.1.0"

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
