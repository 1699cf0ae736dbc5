"""``build_report``: every report of one run (tables, plots, index.html, demo/) or a comparison of several."""

from __future__ import annotations

import json
import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import UsageError
from reports import demo as demo_mod
from reports import nfe, plots
from reports.html import render
from reports.rundata import LAG, Run, load_run
from reports.spectrograms import spectrogram_grid
from reports.tables import (
    ColumnData,
    Table,
    assemble,
    build_table,
    metric_unit,
    table_metrics,
    table_notes,
    to_latex,
    to_markdown,
)
from reports.waveform import default_panels, parse_panels, waveform_figure

_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")


@dataclass(frozen=True)
class ReportOptions:
    """What ``bench report`` can be told; every field has a sensible default.

    Attributes:
        utterance: utterance of the waveform-similarity figure (default: the first demo utterance).
        window_ms: length of its window.
        panels: ``"a,b;c,d"`` groups systems into panels (default: one per family, or all in one).
        demo_utterances: utterances on the demo page (default: a balanced few per speaker).
        demo_per_speaker: default utterances per speaker on the demo page.
        demo_limit: default maximum number of demo utterances.
        demo_format: ``"pcm16"`` or ``"float"`` WAV copies on the demo page.
        scatter: (x, y) metrics of the scatter plot (default: pesq_wb vs si_sdr, or a fallback).
        exclude_from_best: systems never marked best in a column (the reference).
    """

    utterance: str | None = None
    window_ms: float = 25.0
    panels: str | None = None
    demo_utterances: tuple[str, ...] | None = None
    demo_per_speaker: int = 2
    demo_limit: int = 6
    demo_format: str = "pcm16"
    scatter: tuple[str, str] | None = None
    exclude_from_best: tuple[str, ...] = ("natural",)


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name)


def _fig(out: Path, paths: list[Path], caption: str) -> dict[str, str]:
    rel = [p.relative_to(out).as_posix() for p in paths]
    return {"png": next(r for r in rel if r.endswith(".png")), "pdf": next(r for r in rel if r.endswith(".pdf")),
            "caption": caption}


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]], depth: int = 0) -> None:
    if isinstance(value, dict) and depth < 2 and value:
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out, depth + 1)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        out.append((prefix, " ".join(value)))
    else:
        out.append((prefix, value if isinstance(value, str) else json.dumps(value)))


def provenance(run: Run) -> list[tuple[str, str]]:
    """run.json flattened to (key, text) pairs for the page; the corpus item list is summarised."""
    info = dict(run.info)
    corpus = dict(info.pop("corpus", {}) or {})
    items = corpus.pop("items", None)
    if items is not None:
        corpus["items"] = f"{len(items)} items"
    info.pop("failures", None)  # shown in their own section
    rows: list[tuple[str, str]] = []
    for key in ["package", "created", "finished", "status", "command", "git_revision", "machine", "versions",
                "config", "systems", "metrics", *[k for k in info if k not in ("package",)]]:
        if key in info and key not in {k.split(".")[0] for k, _ in rows}:
            _flatten(key, info[key], rows)
    _flatten("corpus", corpus, rows)
    return rows


def _speaker_tables(run: Run, options: ReportOptions) -> list[Table]:
    speakers = run.speaker_list()
    if len(speakers) < 2:  # one speaker (or none known): the overall table says it all
        return []
    tables = [build_table(run, title=f"Speaker {spk or '(unknown)'}", speaker=spk,
                          exclude_from_best=options.exclude_from_best) for spk in speakers]
    for t in tables[:-1]:
        t.notes = []  # the notes are the same for every speaker: shown once, under the last table
    return tables


def _lag_rows(run: Run) -> list[dict[str, str]]:
    rows = []
    for s in run.systems:
        v = np.asarray(run.values(s, LAG), dtype=float)
        v = v[np.isfinite(v)]
        a = run.system_info(s).get("alignment") or {}
        if v.size:
            rows.append({"system": s, "mean": f"{v.mean():.1f}", "max_abs": f"{np.abs(v).max():.0f}", "n": str(v.size),
                         "peak": f"{a['peak']:+.2f}" if "peak" in a else "", "flag": a.get("flag") or ""})
    return rows


def write_tables(run: Run, out: Path, options: ReportOptions) -> list[Table]:
    """summary.md and summary.tex (overall and per speaker). Returns the tables, overall first."""
    overall = build_table(run, title=f"Summary of {run.label}", exclude_from_best=options.exclude_from_best)
    per_speaker = _speaker_tables(run, options)
    md = [f"# Report: {run.label}", "", to_markdown(overall)]
    tex = ["% codec-bench summary tables; needs \\usepackage{booktabs}", "", to_latex(overall, "tab:summary")]
    if per_speaker:
        md.append("## Per speaker\n")
        for i, t in enumerate(per_speaker):
            md.append(to_markdown(t, heading="###"))
            tex.append(to_latex(t, f"tab:speaker-{_safe(t.title.split(' ', 1)[1])}-{i}"))
    (out / "summary.md").write_text("\n".join(md), encoding="utf-8")
    (out / "summary.tex").write_text("\n".join(tex), encoding="utf-8")
    return [overall, *per_speaker]


def write_plots(run: Run, out: Path, options: ReportOptions, demo_utts: list[str]) -> list[dict[str, Any]]:
    """Every figure of a run as PNG + PDF under ``out/plots``. Returns the page sections."""
    pdir = out / "plots"
    sections: list[dict[str, Any]] = []
    items = []
    excl = options.exclude_from_best
    left_out = [s for s in run.systems if s in excl and plots.shown(run, excl) != run.systems]
    aside = f" {', '.join(left_out)} (the reference) is in the tables only." if left_out else ""
    for m in table_metrics(run):
        items.append(_fig(out, plots.bar_chart(run, m, pdir / f"bar_{_safe(m)}", excl),
                          f"{m}: mean per system, 95% CI.{aside}"))
        items.append(_fig(out, plots.box_plot(run, m, pdir / f"box_{_safe(m)}", excl),
                          f"{m}: distribution over utterances.{aside}"))
    sections.append({"title": "Per metric", "entries": items})
    axes = options.scatter or plots.scatter_axes(run, None)
    if axes is not None:
        x, y = axes
        paths = plots.scatter(run, x, y, pdir / f"scatter_{_safe(x)}_vs_{_safe(y)}", excl)
        sections.append({"title": "Magnitude vs phase", "entries": [
            _fig(out, paths, f"{y} against {x}: per-system means with 95% CI whiskers.{aside}")]})
    utt = options.utterance or (demo_utts[0] if demo_utts else None)
    if utt is not None and run.reference_path(utt).is_file():
        panels = parse_panels(options.panels, run.systems) if options.panels else default_panels(run.systems)
        paths, caption = waveform_figure(run, utt, panels, options.window_ms, pdir / f"waveform_{_safe(utt)}")
        sections.append({"title": "Waveform similarity", "entries": [_fig(out, paths, caption)]})
    nfe_section = nfe.nfe_section(run, out)
    if nfe_section is not None:
        sections.append(nfe_section)
    grids = [_fig(out, spectrogram_grid(run, u, run.systems, pdir / "spectrograms" / _safe(u)),
                  f"{u}: reference and every system.") for u in demo_utts]
    if grids:
        sections.append({"title": "Spectrograms (demo utterances)", "entries": grids})
    return sections


def check_options(run: Run, options: ReportOptions) -> None:
    """Raise UsageError for options that do not fit the run, before anything is written."""
    if options.panels:
        parse_panels(options.panels, run.systems)
    if options.scatter:
        unknown = [m for m in options.scatter if m not in run.metrics]
        if unknown:
            raise UsageError(f"--scatter: unknown metric(s) {', '.join(unknown)}; this run has {', '.join(run.metrics)}")
    if options.utterance is not None:
        if options.utterance not in run.utterances:
            raise UsageError(f"--utterance: unknown utterance {options.utterance!r} in {run.root}")
        if not run.reference_path(options.utterance).is_file():
            raise UsageError(f"--utterance: {run.reference_path(options.utterance)} is missing")
    if options.demo_utterances:
        demo_mod.choose_utterances(run, list(options.demo_utterances))
    if options.demo_format not in demo_mod.DEMO_FORMATS:
        raise UsageError(f"--demo-format: {options.demo_format!r} is not one of {', '.join(demo_mod.DEMO_FORMATS)}")


def build_single(run: Run, out: Path, options: ReportOptions) -> Path:
    """All reports of one run into ``out``; returns ``out/index.html``."""
    check_options(run, options)
    out.mkdir(parents=True, exist_ok=True)
    tables = write_tables(run, out, options)
    utts = demo_mod.choose_utterances(run, list(options.demo_utterances) if options.demo_utterances else None,
                                      options.demo_per_speaker, options.demo_limit)
    figures = write_plots(run, out, options, utts)
    demo_link = None
    if (out / "demo" / "index.html").is_file():  # a previous demo page of ours: drop its copies
        for sub in ("audio", "img"):
            shutil.rmtree(out / "demo" / sub, ignore_errors=True)
    if utts:
        rows = demo_mod.build_demo(run, out / "demo", utts, options.demo_format)
        render("demo.html.j2", out / "demo" / "index.html", {
            "title": f"Audio samples: {run.label}", "rows": rows, "run_label": run.label,
            "utterances": [{"id": u, "speaker": run.speakers.get(u, "")} for u in utts],
            "format_label": "16-bit" if options.demo_format == "pcm16" else "32-bit float",
        })
        demo_link = "demo/index.html"
    info = run.info
    return render("index.html.j2", out / "index.html", {
        "title": f"codec-bench report: {run.label}", "run_root": str(run.root), "status": info.get("status", "unknown"),
        "created": info.get("created", ""), "finished": info.get("finished", ""),
        "n_utterances": len(run.utterances), "systems": run.systems, "metrics": run.metrics, "tables": tables,
        "lag_rows": _lag_rows(run), "failures": run.failures(), "figures": figures,
        "provenance": provenance(run), "demo_link": demo_link,
    })


def _labels(paths: list[Path]) -> list[str]:
    names = [p.resolve().name for p in paths]
    if len(set(names)) == len(names):
        return names
    return [f"{p.resolve().parent.name}/{p.resolve().name}" for p in paths]


def build_comparison(runs: list[Run], out: Path, options: ReportOptions) -> Path:
    """Systems and metrics side by side across runs into ``out``; returns ``out/index.html``."""
    out.mkdir(parents=True, exist_ok=True)
    systems = list(dict.fromkeys(s for r in runs for s in r.systems))
    metrics = list(dict.fromkeys(m for r in runs for m in table_metrics(r)))
    data = []
    for m in metrics:
        owner = next(r for r in runs if m in table_metrics(r))
        for r in runs:
            data.append(ColumnData(f"{m} [{r.label}]", owner.higher_is_better(m), metric_unit(owner, m),
                                   {s: r.values(s, m) for s in systems}))
    n_items = {s: max(len({x.utterance for x in r.rows if x.system == s}) for r in runs) for s in systems}
    notes = [(f"Comparison of {len(runs)} runs: {', '.join(r.label for r in runs)}; n = utterances (largest over "
              "runs); – where a system or metric is not in that run.")]
    for r in runs:
        for note in table_notes(r, options.exclude_from_best):
            tagged = note if r is runs[0] else f"[{r.label}] {note}"
            if note not in notes and not (r is not runs[0] and note in table_notes(runs[0], options.exclude_from_best)):
                notes.append(tagged)
    table = assemble("Comparison across runs", systems, data, n_items, exclude_from_best=options.exclude_from_best,
                     notes=notes)
    (out / "summary.md").write_text(f"# Comparison\n\n{to_markdown(table)}", encoding="utf-8")
    (out / "summary.tex").write_text(
        "% codec-bench comparison table; needs \\usepackage{booktabs}\n\n" + to_latex(table, "tab:comparison"),
        encoding="utf-8")
    shown = [s for s in systems if s not in options.exclude_from_best] or systems
    aside = " The reference is in the table only." if len(shown) < len(systems) else ""
    figures = [_fig(out, plots.comparison_bars(runs, shown, m, out / "plots" / f"compare_{_safe(m)}"),
                    f"{m}: mean and 95% CI per system, one bar per run.{aside}") for m in metrics]
    return render("compare.html.j2", out / "index.html", {
        "title": "codec-bench comparison", "runs": runs, "tables": [table], "notes": notes, "figures": figures,
    })


def build_report(
    run_dirs: list[Path],
    out: Path | None = None,
    *,
    utterance: str | None = None,
    window_ms: float = 25.0,
    panels: str | None = None,
    demo_utterances: list[str] | None = None,
    demo_format: str = "pcm16",
    scatter: tuple[str, str] | None = None,
    exclude_from_best: tuple[str, ...] = ("natural",),
) -> Path:
    """Write the report of one run (into ``RUN/report`` or ``out``) or the comparison of several (into ``out``).

    Returns:
        the path of the written index.html. Raises UsageError for bad folders or options.
    """
    if not run_dirs:
        raise UsageError("no run folder given")
    if not (window_ms > 0 and math.isfinite(window_ms)):
        raise UsageError(f"--window-ms must be positive, got {window_ms}")
    options = ReportOptions(utterance=utterance, window_ms=window_ms, panels=panels,
                            demo_utterances=tuple(demo_utterances) if demo_utterances else None,
                            demo_format=demo_format, scatter=scatter, exclude_from_best=tuple(exclude_from_best))
    paths = [Path(p) for p in run_dirs]
    runs = [load_run(p, label) for p, label in zip(paths, _labels(paths))]
    if len(runs) == 1:
        return build_single(runs[0], Path(out) if out else runs[0].layout.report_dir, options)
    if out is None:
        raise UsageError("several run folders: give --out DIR for the comparison report")
    return build_comparison(runs, Path(out), options)


__all__ = ["ReportOptions", "build_comparison", "build_report", "build_single", "provenance"]
