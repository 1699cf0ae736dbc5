"""What a reader must know before reading a run's numbers: systems that ran the shipped demo weights, and the
synthetic demo corpus. Shown at the top of the report and the demo page and in the notes of every table
(so in summary.tex too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reports.display import system_names
from reports.rundata import Run

#: the corpus spec of the bundled synthetic demo corpus (``--data demo``)
DEMO_CORPUS = "demo"


def _uses_demo_weights(entry: dict[str, Any]) -> bool:
    """True when a system's run.json entry says it ran shipped demo weights (its own or a post-filter's)."""
    def walk(value: Any) -> bool:
        if isinstance(value, dict):
            return value.get("weights") == "demo" or any(walk(v) for v in value.values())
        if isinstance(value, list):
            return any(walk(v) for v in value)
        return False

    return walk(entry.get("provenance", {})) or "(demo weights)" in str(entry.get("description", ""))


def demo_weight_systems(run: Run) -> list[str]:
    """The systems of ``run`` that ran the shipped demo weights, in run order."""
    entries = run.info.get("systems", {}) or {}
    return [s for s in run.systems if _uses_demo_weights(entries.get(s, {}) or {})]


def synthetic_corpus(run: Run) -> bool:
    """True when the run's corpus is the bundled synthetic demo corpus (``--data demo``, or a manifest whose
    every file lies in it)."""
    from bench.corpora import DEMO_DIR

    corpus = run.info.get("corpus", {}) or {}
    if corpus.get("spec") == DEMO_CORPUS:
        return True
    paths = [item.get("path") for item in corpus.get("items", []) or []]
    return bool(paths) and all(p and Path(p).resolve().is_relative_to(DEMO_DIR.resolve()) for p in paths)


def run_caveats(run: Run) -> list[str]:
    """Plain-text caveats (empty for a run on real data with real weights)."""
    caveats = []
    systems = demo_weight_systems(run)
    if systems:
        names = system_names(run, systems)
        caveats.append(f"Demo weights: {', '.join(names[s] for s in systems)} ran the small demo weights shipped "
                       "with codec-bench (trained briefly on CPU), not trained checkpoints; their numbers show that "
                       "the pipeline works, not how these systems perform. For real results pass trained checkpoints "
                       "with --checkpoint or --weights (the AudioDec systems, named in --systems, download the "
                       "official release on first use).")
    if synthetic_corpus(run):
        caveats.append("Synthetic corpus: the utterances are the bundled synthetic demo corpus, not recorded speech; "
                       "scores are not comparable with published results.")
    return caveats


__all__ = ["demo_weight_systems", "run_caveats"]
