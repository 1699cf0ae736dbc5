"""Write one table as CSV, Markdown and LaTeX (same rows, same order)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _fmt(value: object, digits: int) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.{digits}f}"
    return str(value)


def _latex(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(c, c) for c in text)


def write_table(rows: list[dict[str, object]], columns: list[str], stem: Path, digits: int = 2,
                caption: str = "") -> list[Path]:
    """Write ``stem``.csv (full precision), .md and .tex (``digits`` decimals). Returns the paths."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    csv_path, md_path, tex_path = (stem.with_suffix(s) for s in (".csv", ".md", ".tex"))
    with csv_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({c: r.get(c, "") for c in columns} for r in rows)
    md = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    md += ["| " + " | ".join(_fmt(r.get(c, ""), digits).replace("|", "\\|") for c in columns) + " |" for r in rows]
    md_path.write_text(("" if not caption else f"{caption}\n\n") + "\n".join(md) + "\n")
    tex = [r"\begin{table}[t]", r"\centering", r"\begin{tabular}{l" + "r" * (len(columns) - 1) + "}", r"\hline",
           " & ".join(_latex(c) for c in columns) + r" \\", r"\hline"]
    tex += [" & ".join(_latex(_fmt(r.get(c, ""), digits)) for c in columns) + r" \\" for r in rows]
    tex += [r"\hline", r"\end{tabular}"]
    if caption:
        tex.append(r"\caption{" + _latex(caption) + "}")
    tex.append(r"\end{table}")
    tex_path.write_text("\n".join(tex) + "\n")
    return [csv_path, md_path, tex_path]
