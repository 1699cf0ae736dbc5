"""Summary tables (systems x metrics): one model, rendered as Markdown, LaTeX (booktabs) and HTML.

Cells are ``mean ± half-width of the 95% CI``; each metric header carries its direction arrow; the
best mean per column is bold (systems in ``exclude_from_best``, the natural reference and the anchors, are
not candidates); failed values are noted in the cell. The mean achieved bitrate sits next to the system name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bench.alignment_stage import explain_flag
from reports.display import css_colour, metric_name, system_colours, system_names
from reports.options import DEFAULT_REPORT_METRICS, LATEX_ENVIRONMENTS
from reports.rundata import BITRATE, Run
from reports.stats import CellStats, describe
from reports.tabular import md_escape, tex_escape

ARROWS = {True: "↑", False: "↓", None: ""}
TEX_ARROWS = {True: r"$\uparrow$", False: r"$\downarrow$", None: ""}


@dataclass
class Column:
    """One metric column."""

    metric: str
    higher_is_better: bool | None
    unit: str
    decimals: int
    #: the name shown in headers ("PESQ-WB"; default: ``metric``)
    display: str = ""

    def __post_init__(self) -> None:
        self.display = self.display or self.metric

    @property
    def arrow(self) -> str:
        return ARROWS[self.higher_is_better]


@dataclass
class Cell:
    """One (system, metric) cell: the statistics and their formatted text."""

    summary: CellStats
    mean_text: str
    half_text: str
    bold: bool = False

    @property
    def failed_note(self) -> str:
        """``"n=4, 2 failed"`` when some values failed, else ``""``."""
        s = self.summary
        return f"n={s.n}, {s.n_failed} failed" if s.n_failed else ""


@dataclass
class TableRow:
    """One system's row of a table (not a result row: that is :class:`bench.runfolder.results.Row`)."""

    system: str
    n_items: int
    n_failed: int
    cells: list[Cell]
    kbps: str = ""
    #: "reference" or "anchor" for rows set apart (never ranked), "" for systems under test
    role: str = ""
    #: the alignment flag of the system in run.json ("" when its alignment is not in doubt)
    flag: str = ""
    #: the name shown (:func:`reports.display.system_names`; default: ``system``)
    label: str = ""
    #: its colour in the plots (``#rrggbb``; "" for none)
    colour: str = ""

    def __post_init__(self) -> None:
        self.label = self.label or self.system


@dataclass
class Table:
    """A systems x metrics table with its caption and notes."""

    title: str
    columns: list[Column]
    rows: list[TableRow]
    notes: list[str] = field(default_factory=list)


def decimals_for(means: list[float]) -> int:
    """Decimals for a column: 3 below 10, 2 below 100, else 1 (by the median absolute mean)."""
    finite = [abs(m) for m in means if math.isfinite(m)]
    if not finite:
        return 2
    med = float(np.median(finite))
    return 3 if med < 10 else 2 if med < 100 else 1


def _fmt(x: float, decimals: int) -> str:
    return f"{x:.{decimals}f}" if math.isfinite(x) else ""


@dataclass
class ColumnData:
    """What a column is built from: its label, direction, unit and the values of each system."""

    label: str
    higher_is_better: bool | None
    unit: str
    values: dict[str, list[float]]
    #: the header shown (default: ``label``)
    display: str = ""


def assemble(
    title: str,
    systems: list[str],
    data: list[ColumnData],
    n_items: dict[str, int],
    *,
    exclude_from_best: tuple[str, ...] = ("natural", "reference"),
    notes: list[str] | None = None,
    kbps: dict[str, str] | None = None,
    names: dict[str, str] | None = None,
) -> Table:
    """Compute every cell's statistics, format them, and mark the best per column.

    ``kbps`` maps a system to its achieved-bitrate text (shown next to the name; "" when not coded);
    ``names`` to its display name (default: the id)."""
    stats = [{s: describe(d.values.get(s, [])) for s in systems} for d in data]
    columns = [Column(d.label, d.higher_is_better, d.unit, decimals_for([st[s].mean for s in systems]), d.display)
               for d, st in zip(data, stats)]
    rows: list[TableRow] = []
    for s in systems:
        cells = [Cell(st[s], _fmt(st[s].mean, c.decimals), _fmt(st[s].half_width, c.decimals))
                 for c, st in zip(columns, stats)]
        rows.append(TableRow(s, n_items.get(s, 0), sum(c.summary.n_failed for c in cells), cells, (kbps or {}).get(s, ""),
                             label=(names or {}).get(s, s)))
    for j, col in enumerate(columns):
        if col.higher_is_better is None:
            continue
        candidates = [r.cells[j] for r in rows if r.system not in exclude_from_best and r.cells[j].summary.n > 0]
        if not candidates:
            continue
        keyed = [float(c.mean_text) for c in candidates]
        best = max(keyed) if col.higher_is_better else min(keyed)
        for c, k in zip(candidates, keyed):
            c.bold = k == best
    return Table(title, columns, rows, list(notes or []))


def table_metrics(run: Run) -> list[str]:
    """Everything a run has per system to plot: its quality metrics, then the achieved bitrate when recorded."""
    return [*run.metrics, *([BITRATE] if any(r.metric == BITRATE for r in run.rows) else [])]


#: How many of the run's metrics are shown when it has none of the defaults.
FALLBACK_REPORT_METRICS = 5


def report_metrics(run: Run, requested: tuple[str, ...] | None = None) -> list[str]:
    """The metrics of the short table, the summary paragraph and summary.tex: the request (checked by the
    caller) or the defaults the run has, else its first few metrics."""
    if requested:
        return list(requested)
    chosen = [m for m in DEFAULT_REPORT_METRICS if m in run.metrics]
    return chosen or run.metrics[:FALLBACK_REPORT_METRICS]


def kbps_texts(run: Run, speaker: str | None = None) -> dict[str, str]:
    """Mean achieved bitrate per system as text ("" for systems that code nothing)."""
    out = {}
    for s in run.systems:
        v = np.asarray(run.values(s, BITRATE, speaker), dtype=float)
        v = v[np.isfinite(v)]
        out[s] = f"{v.mean():.1f}" if v.size else ""
    return out


def metric_unit(run: Run, metric: str) -> str:
    """The unit shown in headers."""
    return "kbps" if metric == BITRATE else str(run.metric_info(metric).get("unit") or "")


def build_table(
    run: Run,
    *,
    title: str,
    speaker: str | None = None,
    exclude_from_best: tuple[str, ...] = ("natural", "reference"),
    metrics: list[str] | None = None,
) -> Table:
    """The summary table of a run (or of one speaker's utterances), statistics from results.csv rows.

    ``metrics``: the columns (default: every quality metric of the run)."""
    data = [ColumnData(m, run.higher_is_better(m), metric_unit(run, m),
                       {s: run.values(s, m, speaker) for s in run.systems}, metric_name(m)) for m in (metrics or run.metrics)]
    n_items = {s: len({r.utterance for r in run.rows if r.system == s and (speaker is None or r.speaker == speaker)})
               for s in run.systems}
    from reports.roles import SYSTEM, role

    table = assemble(title, run.systems, data, n_items, exclude_from_best=exclude_from_best,
                     notes=table_notes(run, exclude_from_best, metrics), kbps=kbps_texts(run, speaker),
                     names=system_names(run))
    colours = system_colours(run)
    for row in table.rows:
        row.colour = css_colour(colours[row.system])
        kind = role(run, row.system)
        row.role = "" if kind == SYSTEM else kind
        row.flag = str((run.system_info(row.system).get("alignment") or {}).get("flag") or "")
    return table


#: the note on the n and failed columns (HTML, Markdown), and its LaTeX form (that table has no failed column)
N_NOTE = ("n = utterances with results; failed = metric values that could not be computed (NaN, listed with their "
          "reasons in index.html); a cell with failures says how many values it averages.")
N_NOTE_LATEX = ("n: utterances with results; a cell with failures says how many values it averages (the reasons "
                "are listed in the report).")


def table_notes(run: Run, exclude_from_best: tuple[str, ...], metrics: list[str] | None = None) -> list[str]:
    """Plain-text notes: statistics, failures, alignment and metric settings from run.json."""
    names = system_names(run)
    excl = [names[s] for s in exclude_from_best if s in run.systems]
    notes = [
        "Mean ± half-width of the 95% confidence interval of the mean (t distribution, std with ddof 1) "
        "over utterances; ↑ higher is better, ↓ lower is better; bold: best per column"
        + (f" (excluding {', '.join(excl)})." if excl else "."),
        N_NOTE,
    ]
    config = run.info.get("config", {}) or {}
    if "align" in config:
        notes.append(alignment_note(config.get("align"), config.get("max_lag_ms")))
    for s in run.systems:
        a = run.system_info(s).get("alignment") or {}
        if a.get("flag"):
            notes.append(f"Flag: {explain_flag(s, a)}.")
    if run.skipped_inputs:
        notes.append(f"{len(run.skipped_inputs)} input(s) skipped (rejected by the corpus, evaluated by no "
                     f"system): {', '.join(run.skipped_inputs)}; reasons in index.html.")
    for m in metrics or run.metrics:
        info = run.metric_info(m)
        settings = info.get("settings") or {}
        parts = [f"{k}={v}" for k, v in settings.items()]
        lib = info.get("library")
        if lib:
            parts.append(f"library {lib} {info.get('version') or ''}".strip())
        if info.get("sample_rate"):
            parts.append(f"{int(info['sample_rate']) // 1000} kHz")
        if parts:
            notes.append(f"{metric_name(m)}: {', '.join(parts)}.")
    if any(r.metric == BITRATE for r in run.rows):
        notes.append("kbps: mean achieved bitrate (bits spent / duration) per system; empty for systems that "
                     "code nothing.")
    return notes


def alignment_note(align: object, max_lag_ms: object) -> str:
    """The alignment policy of a run in words (``config.align``: system/utterance/none, or an old bool)."""
    if align is True:
        align = "utterance"
    window = f", search window ±{max_lag_ms} ms" if max_lag_ms is not None else ""
    if align == "system":
        return f"Residual-lag alignment before intrusive metrics: one lag per system (summed cross-correlation{window})."
    if align == "utterance":
        return f"Residual-lag alignment before intrusive metrics: one lag per utterance (highest correlation peak{window})."
    return "Residual-lag alignment before intrusive metrics: none."


# ----------------------------------------------------------------------------------------- Markdown


def to_markdown(table: Table, heading: str = "##") -> str:
    """A GitHub-flavoured Markdown table with notes below."""
    head = ["system", "kbps", "n", "failed"] + [
        f"{c.display}{' (' + c.unit + ')' if c.unit else ''} {c.arrow}".strip() for c in table.columns
    ]
    lines = [f"{heading} {table.title}", "", "| " + " | ".join(md_escape(h) for h in head) + " |",
             "|" + "|".join([":--", "--:", "--:", "--:"] + ["--:"] * len(table.columns)) + "|"]
    for row in table.rows:
        cells = []
        for c in row.cells:
            if not c.mean_text:
                cells.append(f"– (all {c.summary.n_failed} failed)" if c.summary.n_failed else "–")
                continue
            text = f"**{c.mean_text}**" if c.bold else c.mean_text
            if c.half_text:
                text += f" ± {c.half_text}"
            if c.failed_note:
                text += f" ({c.failed_note})"
            cells.append(text)
        lines.append("| " + " | ".join([md_escape(row.label), row.kbps or "–", str(row.n_items), str(row.n_failed),
                                        *cells]) + " |")
    lines.append("")
    lines.extend(f"- {n}" for n in table.notes)
    lines.append("")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------- LaTeX


def to_latex(table: Table, label: str, environment: str = "table*", caption: str | None = None) -> str:
    """A booktabs table (needs ``\\usepackage{booktabs}``), set in ``\\footnotesize`` with metric names over
    their units and arrows, so that six metrics fit a two-column paper's ``table*``. Failures are noted in the
    cells (there is no "failed" column); a cell without spread (the reference against itself) has no ±.
    ``caption`` (LaTeX; default: the title) is one a paper can keep; the notes are set ragged-right under the
    table and exactly as wide as it (measured in box 0)."""
    if environment not in LATEX_ENVIRONMENTS:
        raise ValueError(f"LaTeX environment must be one of {', '.join(LATEX_ENVIRONMENTS)}, not {environment!r}")
    spec = "lrr" + "r" * len(table.columns)
    names = ["System", "kbps", "$n$"] + [tex_escape(c.display) for c in table.columns]
    units = ["", "", ""] + [
        " ".join(filter(None, [f"({tex_escape(c.unit)})" if c.unit else "", TEX_ARROWS[c.higher_is_better]]))
        for c in table.columns
    ]
    lines = [
        rf"\begin{{{environment}}}[t]", r"\centering", r"\footnotesize", r"\setlength{\tabcolsep}{3.5pt}",
        rf"\caption{{{caption or tex_escape(table.title)}}}", rf"\label{{{label}}}",
        rf"\sbox0{{\begin{{tabular}}{{{spec}}}", r"\toprule", " & ".join(names) + r" \\", " & ".join(units) + r" \\",
        r"\midrule",
    ]
    for row in table.rows:
        cells = []
        for c in row.cells:
            if not c.mean_text:
                cells.append(f"-- (all {c.summary.n_failed} failed)" if c.summary.n_failed else "--")
                continue
            mean = rf"\mathbf{{{c.mean_text}}}" if c.bold else c.mean_text
            spread = c.half_text and c.summary.half_width != 0
            text = f"${mean}" + (rf" \pm {c.half_text}" if spread else "") + "$"
            if c.failed_note:
                text += rf" {{\scriptsize ({c.failed_note})}}"
            cells.append(text)
        lines.append(" & ".join([tex_escape(row.label), row.kbps or "--", str(row.n_items), *cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}}\usebox0", r"\par\smallskip",
              r"\begin{minipage}{\wd0}\scriptsize\raggedright"]
    lines += [tex_escape(N_NOTE_LATEX if n == N_NOTE else n) + r"\par" for n in table.notes]
    lines += [r"\end{minipage}", rf"\end{{{environment}}}", ""]
    return "\n".join(lines)


__all__ = ["DEFAULT_REPORT_METRICS", "LATEX_ENVIRONMENTS", "Cell", "Column", "ColumnData", "Table", "TableRow", "assemble",
           "build_table", "decimals_for", "kbps_texts", "metric_unit", "report_metrics", "table_metrics",
           "to_latex", "to_markdown"]
