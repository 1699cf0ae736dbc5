"""``build_report``: every report of one run (tables, plots, index.html, demo/) or a comparison of several."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.atomic import TMP_PREFIX, write_text_atomic
from bench.errors import UsageError
from bench.runfolder import evaluation_rate
from reports import demo as demo_mod
from reports import nfe, plots
from reports.atomic import ReportFolder
from reports.display import metric_name, system_names
from reports.html import render
from reports.notices import run_caveats
from reports.ratequality import write_rate_quality
from reports.roles import REFERENCE, not_candidates, role
from reports.rundata import BITRATE, LAG, Run, load_run
from reports.spectrograms import spectrogram_grid
from reports.summary import significance_matrix, summary_paragraph
from reports.tables import (
    LATEX_ENVIRONMENTS,
    ColumnData,
    Table,
    assemble,
    build_table,
    kbps_texts,
    metric_unit,
    report_metrics,
    table_metrics,
    table_notes,
    to_latex,
    to_markdown,
)
from reports.waveform import default_panels, parse_panels, waveform_figure

_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")
#: the per-speaker LaTeX tables (summary.tex holds only the overall one, so a paper can \input it)
SPEAKER_TEX = "summary_speakers.tex"


@dataclass(frozen=True)
class ReportOptions:
    """What ``bench report`` can be told; every field has a sensible default.

    Attributes:
        utterance: utterance of the waveform-similarity figure (default: the first demo utterance).
        window_ms: length of its window.
        panels: ``"a,b;c,d"`` groups systems into panels (default: one per family, or all in one).
        scatter: (x, y) metrics of the scatter plot (default: pesq_wb vs si_sdr, or a fallback).
        exclude_from_best: systems never marked best in a column (None: the run's reference and anchors).
        report_metrics: metrics of the short table, the summary paragraph and summary.tex (None: the defaults
            of ``reports.tables.DEFAULT_REPORT_METRICS`` that the run has).
        latex_environment: ``table*`` (both columns of a two-column paper) or ``table`` (one column).
        demo: what the demo page shows (systems, title, introduction, links, metrics).
    """

    utterance: str | None = None
    window_ms: float = 25.0
    panels: str | None = None
    scatter: tuple[str, str] | None = None
    exclude_from_best: tuple[str, ...] | None = None
    report_metrics: tuple[str, ...] | None = None
    latex_environment: str = "table*"
    demo: demo_mod.DemoOptions = field(default_factory=demo_mod.DemoOptions)

    def excluded(self, run: Run) -> tuple[str, ...]:
        """Systems never marked best: as given, else the run's reference and anchors."""
        return self.exclude_from_best if self.exclude_from_best is not None else not_candidates(run)


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


def _speaker_tables(run: Run, options: ReportOptions, metrics: list[str]) -> list[Table]:
    speakers = run.speaker_list()
    if len(speakers) < 2:  # one speaker (or none known): the overall table says it all
        return []
    tables = [build_table(run, title=f"Speaker {spk or '(unknown)'}", speaker=spk,
                          exclude_from_best=options.excluded(run), metrics=metrics) for spk in speakers]
    for t in tables[:-1]:
        t.notes = []  # the notes are the same for every speaker: shown once, under the last table
    return tables


def _lag_rows(run: Run) -> list[dict[str, str]]:
    rows = []
    names = system_names(run)
    for s in run.systems:
        v = np.asarray(run.values(s, LAG), dtype=float)
        v = v[np.isfinite(v)]
        a = run.system_info(s).get("alignment") or {}
        if v.size:
            rows.append({"system": names[s], "id": s, "mean": f"{v.mean():.1f}", "max_abs": f"{np.abs(v).max():.0f}", "n": str(v.size),
                         "peak": f"{a['peak']:+.2f}" if "peak" in a else "", "flag": a.get("flag") or ""})
    return rows


def write_tables(run: Run, out: Path, options: ReportOptions) -> list[Table]:
    """summary.md (overall, every metric, per speaker), summary.tex (the overall table, ready for ``\\input`` in a
    paper) and summary_speakers.tex (per speaker); the LaTeX and the short tables have the report metrics.
    Returns the tables: overall (report metrics), every metric, then per speaker."""
    metrics = report_metrics(run, options.report_metrics)
    excl = options.excluded(run)
    overall = build_table(run, title=f"Summary of {run.label}", exclude_from_best=excl, metrics=metrics)
    full = build_table(run, title=f"All metrics of {run.label}", exclude_from_best=excl)
    per_speaker = _speaker_tables(run, options, metrics)
    caveats = run_caveats(run)
    for t in (overall, full, *per_speaker):
        t.notes[:0] = caveats
    env = options.latex_environment
    md = [f"# Report: {run.label}", "", to_markdown(overall)]
    head = "% codec-bench {}; needs \\usepackage{{booktabs}}\n"
    caption = (rf"Objective evaluation on {len(run.utterances)} utterances: mean $\pm$ half-width of the 95\% "
               r"confidence interval; bold: best system per metric.")
    tex = [head.format("summary table"), to_latex(overall, "tab:summary", env, caption=caption)]
    if full.columns != overall.columns:
        md.append(to_markdown(full))
    speaker_tex = [head.format("per-speaker tables (one float each)")]
    if per_speaker:
        md.append("## Per speaker\n")
        for i, t in enumerate(per_speaker):
            md.append(to_markdown(t, heading="###"))
            speaker_tex.append(to_latex(t, f"tab:speaker-{_safe(t.title.split(' ', 1)[1])}-{i}", env))
    write_text_atomic(out / "summary.md", "\n".join(md))
    write_text_atomic(out / "summary.tex", "\n".join(tex))
    if per_speaker:
        write_text_atomic(out / SPEAKER_TEX, "\n".join(speaker_tex))
    elif (out / SPEAKER_TEX).exists():
        (out / SPEAKER_TEX).unlink()
    return [overall, full, *per_speaker]


def write_plots(run: Run, out: Path, options: ReportOptions, demo_utts: list[str]) -> list[dict[str, Any]]:
    """Every figure of a run as PNG + PDF under ``out/plots``. Returns the page sections: each has a title,
    its figures and whether it starts collapsed."""
    pdir = out / "plots"
    sections: list[dict[str, Any]] = []
    excl = tuple(s for s in options.excluded(run) if role(run, s) == REFERENCE)
    names = system_names(run)
    left_out = [names[s] for s in run.systems if s in excl and plots.shown(run, excl) != run.systems]
    aside = f" {', '.join(left_out)} (the reference) is in the tables only." if left_out else ""
    chosen = report_metrics(run, options.report_metrics)
    for title, metrics, collapsed in (("Per metric", [*chosen, *([BITRATE] if BITRATE in table_metrics(run) else [])],
                                       False),
                                      ("Other metrics", [m for m in run.metrics if m not in chosen], True)):
        items = []
        for m in metrics:
            items.append(_fig(out, plots.bar_chart(run, m, pdir / f"bar_{_safe(m)}", excl),
                              f"{metric_name(m)}: mean per system, 95% CI.{aside}"))
            items.append(_fig(out, plots.box_plot(run, m, pdir / f"box_{_safe(m)}", excl),
                              f"{metric_name(m)}: distribution over utterances.{aside}"))
        if items:
            sections.append({"title": title, "entries": items, "collapsed": collapsed})
    axes = options.scatter or plots.scatter_axes(run, None)
    if axes is not None:
        x, y = axes
        paths = plots.scatter(run, x, y, pdir / f"scatter_{_safe(x)}_vs_{_safe(y)}", excl)
        sections.append({"title": "Magnitude vs phase", "collapsed": False, "entries": [
            _fig(out, paths, f"{metric_name(y)} against {metric_name(x)}: per-system means with 95% CI whiskers."
                             f"{aside}")]})
    utt = options.utterance or (demo_utts[0] if demo_utts else None)
    if utt is not None and run.reference_path(utt).is_file():
        panels = parse_panels(options.panels, run.systems) if options.panels else default_panels(run.systems)
        paths, caption = waveform_figure(run, utt, panels, options.window_ms, pdir / f"waveform_{_safe(utt)}")
        sections.append({"title": "Waveform similarity", "entries": [_fig(out, paths, caption)], "collapsed": False})
    rate_quality = write_rate_quality(run, out, chosen)
    if rate_quality is not None:  # one plot shown (the first report metric's), the others folded
        sections.append({**rate_quality, "collapsed": False, "shown": 1})
    nfe_section = nfe.nfe_section(run, out)
    if nfe_section is not None:
        sections.append({**nfe_section, "collapsed": False})
    grids = [_fig(out, spectrogram_grid(run, u, run.systems, pdir / "spectrograms" / _safe(u)),
                  f"{u}: reference and every system, one colour scale.") for u in demo_utts]
    if grids:
        sections.append({"title": "Spectrograms (demo utterances)", "entries": grids, "collapsed": True})
    return sections


def check_options(run: Run, options: ReportOptions) -> None:
    """Raise UsageError for options that do not fit the run, before anything is written."""
    if options.panels:
        parse_panels(options.panels, run.systems)
    if options.scatter:
        unknown = [m for m in options.scatter if m not in run.metrics]
        if unknown:
            raise UsageError(f"--scatter: unknown metric(s) {', '.join(unknown)}; this run has {', '.join(run.metrics)}")
    if options.report_metrics:
        unknown = [m for m in options.report_metrics if m not in run.metrics]
        if unknown:
            raise UsageError(f"--report-metrics: unknown metric(s) {', '.join(unknown)}; this run has "
                             f"{', '.join(run.metrics)}")
    if options.latex_environment not in LATEX_ENVIRONMENTS:
        raise UsageError(f"--latex-table: {options.latex_environment!r} is not one of {', '.join(LATEX_ENVIRONMENTS)}")
    if options.utterance is not None:
        if options.utterance not in run.utterances:
            raise UsageError(f"--utterance: unknown utterance {options.utterance!r} in {run.root}")
        if not run.reference_path(options.utterance).is_file():
            raise UsageError(f"--utterance: {run.reference_path(options.utterance)} is missing")
    demo_mod.check_options(run, options.demo)


def _figure_files(out: Path, sections: list[dict[str, Any]]) -> set[Path]:
    return {out / f[k] for sec in sections for f in sec["entries"] for k in ("png", "pdf")}


def build_single(run: Run, out: Path, options: ReportOptions, claim: ReportFolder | None = None) -> Path:
    """All reports of one run into ``out``; returns ``out/index.html``.

    Every file is written atomically and the previous build's files stay until the new pages are in
    place (then the ones no page links to any more are removed): a kill at any moment leaves pages whose
    links all resolve to complete files. Only files an earlier build wrote (``claim``) are ever removed."""
    check_options(run, options)
    claim = claim or ReportFolder(out, own=True)
    out.mkdir(parents=True, exist_ok=True)
    for folder in (out, out / "demo"):  # temporary files of a killed build
        for tmp in folder.glob(f"{TMP_PREFIX}*"):
            tmp.unlink()
    tables = write_tables(run, out, options)
    demo = options.demo
    utts = demo_mod.choose_utterances(run, list(demo.utterances) if demo.utterances else None, demo.per_speaker,
                                      demo.limit)
    figures = write_plots(run, out, options, utts)
    demo_link = None
    if utts:
        grids = {u: out / "plots" / "spectrograms" / f"{_safe(u)}.png" for u in utts}
        sections, legend, demo_metrics, written = demo_mod.build_demo(run, out / "demo", demo, grids)
        render("demo.html.j2", out / "demo" / "index.html", {
            "title": demo.title or f"Audio samples: {run.label}", "intro": [p.strip() for p in demo.intro.split("\n\n")
                                                                           if p.strip()],
            "links": demo.links, "sections": sections, "legend": legend, "run_label": run.label,
            "caveats": run_caveats(run),
            "metrics": [metric_name(m) for m in demo_metrics],
            "format_label": "16-bit" if demo.format == "pcm16" else "32-bit float",
        })
        demo_link = "demo/index.html"
        for sub in ("audio", "img"):
            claim.remove_stale(out / "demo" / sub, written)
    info = run.info
    metrics = report_metrics(run, options.report_metrics)
    index = render("index.html.j2", out / "index.html", {
        "title": f"codec-bench report: {run.label}", "run_root": str(run.root), "status": info.get("status", "unknown"),
        "created": info.get("created", ""), "finished": info.get("finished", ""),
        "n_utterances": len(run.utterances), "systems": run.systems, "metrics": run.metrics, "tables": tables,
        "paragraph": summary_paragraph(run, metrics), "report_metrics": metrics,
        "matrices": [m for m in (significance_matrix(run, metric) for metric in metrics) if m],
        "lag_rows": _lag_rows(run), "failures": run.failures(), "figures": figures,
        "provenance": provenance(run), "demo_link": demo_link, "caveats": run_caveats(run),
        "speaker_tex": SPEAKER_TEX if (out / SPEAKER_TEX).is_file() else None,
    })
    claim.remove_stale(out / "plots", _figure_files(out, figures))
    claim.record()
    return index


def _labels(paths: list[Path]) -> list[str]:
    names = [p.resolve().name for p in paths]
    if len(set(names)) == len(names):
        return names
    return [f"{p.resolve().parent.name}/{p.resolve().name}" for p in paths]


def _utterance_sets(runs: list[Run]) -> tuple[list[str], list[str]]:
    """(utterances every run has results for, plain-text notes on how the runs' sets differ)."""
    sets = [{r.utterance for r in run.rows} for run in runs]
    common = set.intersection(*sets)
    notes = []
    if any(s != sets[0] for s in sets[1:]):
        per_run = ", ".join(f"{r.label} {len(s)}" for r, s in zip(runs, sets))
        notes.append(f"The runs have different utterance sets ({per_run} utterances); every number here is "
                     f"computed on the {len(common)} utterances they have in common, n per run and system is "
                     "in the table.")
    order = list(dict.fromkeys(u for r in runs for u in r.utterances))
    return [u for u in order if u in common], notes


def build_comparison(runs: list[Run], out: Path, options: ReportOptions, claim: ReportFolder | None = None) -> Path:
    """Systems and metrics (``--report-metrics``, default all) side by side across runs into ``out``; returns
    ``out/index.html``. Only the utterances every run has are compared (said in a note when the sets differ)."""
    claim = claim or ReportFolder(out)
    out.mkdir(parents=True, exist_ok=True)
    common, set_notes = _utterance_sets(runs)
    if not common:
        raise UsageError(f"the runs {', '.join(r.label for r in runs)} have no utterance in common: nothing to compare")
    keep = set(common)
    runs = [r.restricted(keep) for r in runs]
    systems = list(dict.fromkeys(s for r in runs for s in r.systems))
    metrics = list(dict.fromkeys(m for r in runs for m in table_metrics(r)))
    if options.report_metrics:
        unknown = [m for m in options.report_metrics if m not in metrics]
        if unknown:
            raise UsageError(f"--report-metrics: unknown metric(s) {', '.join(unknown)}; these runs have "
                             f"{', '.join(metrics)}")
        metrics = list(options.report_metrics)
    excl = options.exclude_from_best if options.exclude_from_best is not None else tuple(
        dict.fromkeys(s for r in runs for s in not_candidates(r)))
    data = []
    for m in metrics:
        owner = next(r for r in runs if m in table_metrics(r))
        for r in runs:
            data.append(ColumnData(f"{m} [{r.label}]", owner.higher_is_better(m), metric_unit(owner, m),
                                   {s: r.values(s, m) for s in systems}, f"{metric_name(m)} [{r.label}]"))
    n_items = {s: max(len({x.utterance for x in r.rows if x.system == s}) for r in runs) for s in systems}
    notes = [(f"Comparison of {len(runs)} runs: {', '.join(r.label for r in runs)}; n = utterances (largest over "
              "runs; per run in the n columns); – where a system or metric is not in that run."), *set_notes]
    for r in runs:
        for note in table_notes(r, excl):
            tagged = note if r is runs[0] else f"[{r.label}] {note}"
            if note not in notes and not (r is not runs[0] and note in table_notes(runs[0], excl)):
                notes.append(tagged)
    rates = {r.label: evaluation_rate(r.info.get("config")) for r in runs}
    if len(set(rates.values())) > 1:
        notes.append("The runs were evaluated at different rates (" + ", ".join(
            f"{label}: {rate / 1000:g} kHz" for label, rate in rates.items()) + "): the references and outputs were "
            "resampled differently, and metrics that need the full band are skipped below 44.1 kHz.")
    per_run_kbps = [kbps_texts(r) for r in runs]  # achieved bitrate; runs that differ show each, in run order
    kbps = {s: " / ".join(dict.fromkeys(k[s] for k in per_run_kbps if k.get(s))) for s in systems}
    names: dict[str, str] = {}
    for r in runs:  # the first run that has a system names it
        names = system_names(r, systems) | names
    table = assemble("Comparison across runs", systems, data, n_items, exclude_from_best=excl, notes=notes,
                     kbps=kbps, names=names)
    per_run_n = {r.label: {s: len({x.utterance for x in r.rows if x.system == s}) for s in systems} for r in runs}
    write_text_atomic(out / "summary.md", f"# Comparison\n\n{to_markdown(table)}")
    write_text_atomic(out / "summary.tex", "% codec-bench comparison table; needs \\usepackage{booktabs}\n\n"
               + to_latex(table, "tab:comparison", options.latex_environment))
    shown = [s for s in systems if s not in excl] or systems
    aside = " The reference and anchors are in the table only." if len(shown) < len(systems) else ""
    figures = [_fig(out, plots.comparison_bars(runs, shown, m, out / "plots" / f"compare_{_safe(m)}"),
                    f"{m}: mean and 95% CI per system, one bar per run.{aside}") for m in metrics]
    index = render("compare.html.j2", out / "index.html", {
        "title": "codec-bench comparison", "runs": runs, "tables": [table], "notes": notes, "figures": figures,
        "per_run_n": per_run_n, "systems": systems, "names": names, "n_common": len(common), "set_notes": set_notes,
    })
    claim.record()
    return index


def build_report(
    run_dirs: list[Path],
    out: Path | None = None,
    *,
    utterance: str | None = None,
    window_ms: float = 25.0,
    panels: str | None = None,
    scatter: tuple[str, str] | None = None,
    exclude_from_best: tuple[str, ...] | None = None,
    report_metrics: list[str] | None = None,
    latex_environment: str = "table*",
    demo: demo_mod.DemoOptions | None = None,
) -> Path:
    """Write the report of one run (into ``RUN/report`` or ``out``) or the comparison of several (into ``out``).

    Returns:
        the path of the written index.html. Raises UsageError for bad folders or options.
    """
    if not run_dirs:
        raise UsageError("no run folder given")
    if not (window_ms > 0 and math.isfinite(window_ms)):
        raise UsageError(f"--window-ms must be positive, got {window_ms}")
    options = ReportOptions(utterance=utterance, window_ms=window_ms, panels=panels, scatter=scatter,
                            exclude_from_best=tuple(exclude_from_best) if exclude_from_best is not None else None,
                            report_metrics=tuple(report_metrics) if report_metrics else None,
                            latex_environment=latex_environment, demo=demo or demo_mod.DemoOptions())
    paths = [Path(p) for p in run_dirs]
    runs = [load_run(p, label) for p, label in zip(paths, _labels(paths))]
    if len(runs) == 1:
        target = Path(out) if out else runs[0].layout.report_dir
        own = out is None or target.resolve() == runs[0].layout.report_dir.resolve()
        return build_single(runs[0], target, options, ReportFolder(target, own=own))
    if out is None:
        raise UsageError("several run folders: give --out DIR for the comparison report")
    return build_comparison(runs, Path(out), options, ReportFolder(Path(out)))


__all__ = ["ReportOptions", "build_comparison", "build_report", "build_single", "provenance"]
