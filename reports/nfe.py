"""Quality against the number of network evaluations (NFE) of a diffusion post-filter.

When a run holds one post-filter at several NFE (``opus+spf[steps=1]``, ``opus+spf[steps=8]``, ...), this
module draws every metric's mean and 95% CI against NFE (log axis, one line per post-filter and sampler)
and builds a table with the seconds of processing per second of audio next to the quality.

The NFE of a system comes from run.json (``systems[name].provenance``, the post-filter's
``nfe_per_utterance``); its seconds from the per-utterance sidecars (``audio/<system>/<id>.json``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reports.display import metric_name, system_colours, system_name, system_names
from reports.figures import new_figure, save
from reports.rundata import Run, read_audio
from reports.stats import describe
from reports.tables import ColumnData, Table, assemble, metric_unit, table_metrics

_OPTIONS = re.compile(r"\[[^\]]*\]$")
SECONDS_PER_SECOND = "s per s audio"


@dataclass(frozen=True)
class NfePoint:
    """One system of a run that is a post-filter at one NFE."""

    system: str
    family: str
    sampler: str
    nfe: int


def _find_nfe(prov: Any) -> dict[str, Any] | None:
    """The (nested) provenance dict that carries ``nfe_per_utterance``, if any."""
    if isinstance(prov, dict):
        if "nfe_per_utterance" in prov:
            return prov
        for v in prov.values():
            found = _find_nfe(v)
            if found is not None:
                return found
    return None


def nfe_points(run: Run) -> list[NfePoint]:
    """Systems with a recorded NFE, grouped into families (name without its trailing ``[...]`` options,
    sampler); only families with at least two different NFE are returned, sorted by family then NFE."""
    points = []
    for s in run.systems:
        prov = _find_nfe(run.system_info(s).get("provenance"))
        if prov is None or prov.get("nfe_per_utterance") is None:
            continue
        points.append(NfePoint(s, _OPTIONS.sub("", s), str(prov.get("sampler", "")), int(prov["nfe_per_utterance"])))
    families: dict[tuple[str, str], set[int]] = {}
    for p in points:
        families.setdefault((p.family, p.sampler), set()).add(p.nfe)
    kept = [p for p in points if len(families[(p.family, p.sampler)]) > 1]
    return sorted(kept, key=lambda p: (p.family, p.sampler, p.nfe, p.system))


def seconds_per_second(run: Run, system: str) -> list[float]:
    """Per utterance: the system's processing seconds over the output's duration (from the sidecars)."""
    out = []
    for utt in run.utterances:
        wav, side = run.audio_path(system, utt), run.audio_path(system, utt).with_suffix(".json")
        try:
            secs = json.loads(side.read_text()).get("seconds")
        except (OSError, ValueError):
            continue
        audio = read_audio(wav)
        if secs is not None and audio is not None and audio[0].size:
            out.append(float(secs) / (audio[0].size / audio[1]))
    return out


def nfe_table(run: Run, points: list[NfePoint]) -> Table:
    """Rows: the post-filter at each NFE; columns: NFE, seconds per second of audio, every metric."""
    systems = [p.system for p in points]
    data = [ColumnData("NFE", None, "", {p.system: [float(p.nfe)] for p in points}),
            ColumnData(SECONDS_PER_SECOND, False, "s/s", {s: seconds_per_second(run, s) for s in systems})]
    data += [ColumnData(m, run.higher_is_better(m), metric_unit(run, m), {s: run.values(s, m) for s in systems},
                        metric_name(m))
             for m in table_metrics(run)]
    n_items = {s: len({r.utterance for r in run.rows if r.system == s}) for s in systems}
    note = ("Each post-filter at several numbers of network evaluations (NFE); s per s audio = wall-clock seconds "
            "of the whole system (codec and post-filter) per second of audio on this run's machine and device; "
            "mean ± half-width of the 95% CI over utterances.")
    table = assemble("Quality against network evaluations", systems, data, n_items, notes=[note],
                     names=system_names(run))
    table.columns[0].decimals = 0
    for row in table.rows:  # the NFE is an integer and has no interval
        row.cells[0].mean_text, row.cells[0].half_text = f"{row.cells[0].summary.mean:.0f}", ""
    return table


def nfe_figure(run: Run, points: list[NfePoint], stem: Path) -> list[Path]:
    """One panel per metric: mean and 95% CI against NFE (log axis), one line per family and sampler."""
    metrics = table_metrics(run)
    cols = min(3, max(1, len(metrics)))
    rows = math.ceil(len(metrics) / cols)
    fig, axes = new_figure(3.0 * cols, 2.4 * rows, rows, cols)
    colours = system_colours(run)
    lines: dict[tuple[str, str], list[NfePoint]] = {}
    for p in points:
        lines.setdefault((p.family, p.sampler), []).append(p)
    for k, metric in enumerate(metrics):
        ax = axes[k // cols, k % cols]
        samplers = list(dict.fromkeys(sampler for _, sampler in lines))
        for (family, sampler), pts in lines.items():
            stats = [describe(run.values(p.system, metric)) for p in pts]
            xs = [p.nfe for p, st in zip(pts, stats) if st.n]
            means = [st.mean for st in stats if st.n]
            errs = [0.0 if math.isnan(st.half_width) else st.half_width for st in stats if st.n]
            if xs:
                ax.errorbar(xs, means, yerr=errs, marker="o", capsize=3, color=colours[pts[0].system],
                            linestyle=("-", "--", ":", "-.")[samplers.index(sampler) % 4],
                            label=f"{system_name(family)} ({sampler})")
        ax.set_xscale("log")
        ax.set_xlabel("network evaluations (NFE)")
        shown = metric_name(metric)
        ax.set_ylabel(f"{shown} [{metric_unit(run, metric)}]" if metric_unit(run, metric) else shown)
        ax.set_title(f"{shown} against NFE")
    for k in range(len(metrics), rows * cols):
        axes[k // cols, k % cols].set_visible(False)
    axes[0, 0].legend(loc="best")
    return save(fig, stem)


def nfe_section(run: Run, out: Path) -> dict[str, Any] | None:
    """The report hook: a page section (figure and table) when the run holds a post-filter at several NFE,
    else None. Also writes ``out/nfe.md``."""
    points = nfe_points(run)
    if not points:
        return None
    from reports.tables import to_markdown

    table = nfe_table(run, points)
    (out / "nfe.md").write_text(f"# Quality against NFE: {run.label}\n\n{to_markdown(table)}", encoding="utf-8")
    paths = [p.relative_to(out).as_posix() for p in nfe_figure(run, points, out / "plots" / "quality_vs_nfe")]
    entry = {"png": next(p for p in paths if p.endswith(".png")), "pdf": next(p for p in paths if p.endswith(".pdf")),
             "caption": "Mean and 95% CI per metric against the post-filter's network evaluations (log axis)."}
    return {"title": "Quality against network evaluations", "entries": [entry], "tables": [table]}


__all__ = ["NfePoint", "nfe_figure", "nfe_points", "nfe_section", "nfe_table", "seconds_per_second"]
