"""Plain tables: rows of dicts written as CSV, Markdown and LaTeX, and the escaping every table of the suite
uses (the report's summary tables in :mod:`reports.tables`, the listening tests' analysis tables)."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from bench.atomic import write_text_atomic

_TEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}


def tex_escape(text: str) -> str:
    """Escape LaTeX special characters in plain text (system and metric names, notes); ``±``, ``↑`` and ``↓``
    become math."""
    out = "".join(_TEX_SPECIAL.get(ch, ch) for ch in text)
    return out.replace("±", r"$\pm$").replace("↑", r"$\uparrow$").replace("↓", r"$\downarrow$")


def md_escape(text: str) -> str:
    """Escape the characters that would break a Markdown table cell or turn into emphasis."""
    return text.replace("|", "\\|").replace("*", "\\*")


def format_value(value: object, digits: int) -> str:
    """A cell as text: floats with ``digits`` decimals (``nan`` for NaN), anything else as ``str``."""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def write_table(rows: list[dict[str, object]], columns: list[str], stem: Path, digits: int = 2,
                caption: str = "") -> list[Path]:
    """Write ``stem``.csv (full precision), .md and .tex (``digits`` decimals; same rows, same order),
    each atomically. Returns the three paths."""
    csv_path, md_path, tex_path = (stem.with_suffix(s) for s in (".csv", ".md", ".tex"))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({c: r.get(c, "") for c in columns} for r in rows)
    write_text_atomic(csv_path, buf.getvalue())
    md = ["| " + " | ".join(md_escape(c) for c in columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    md += ["| " + " | ".join(md_escape(format_value(r.get(c, ""), digits)) for c in columns) + " |" for r in rows]
    write_text_atomic(md_path, ("" if not caption else f"{caption}\n\n") + "\n".join(md) + "\n")
    tex = [r"\begin{table}[t]", r"\centering", r"\begin{tabular}{l" + "r" * (len(columns) - 1) + "}", r"\hline",
           " & ".join(tex_escape(c) for c in columns) + r" \\", r"\hline"]
    tex += [" & ".join(tex_escape(format_value(r.get(c, ""), digits)) for c in columns) + r" \\" for r in rows]
    tex += [r"\hline", r"\end{tabular}"]
    if caption:
        tex.append(r"\caption{" + tex_escape(caption) + "}")
    tex.append(r"\end{table}")
    write_text_atomic(tex_path, "\n".join(tex) + "\n")
    return [csv_path, md_path, tex_path]


__all__ = ["format_value", "md_escape", "tex_escape", "write_table"]
