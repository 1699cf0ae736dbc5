"""PDF figures embed TrueType subsets without the OpenType layout tables: same glyphs, same pages, faster."""

from __future__ import annotations

import re
from pathlib import Path

from fontTools.ttLib import TTFont
from matplotlib import font_manager
from matplotlib.backends import _backend_pdf_ps
from matplotlib.ft2font import FT2Font

from reports.figures import LAYOUT_TABLES, STYLE, new_figure, plt, save

TEXT = "PESQ-WB (MOS-LQO) ± Opus 24 kbps, symAD, ScoreDec — 0.5 kHz"


def _figure():
    fig, axes = new_figure(3.0, 2.0)
    axes[0, 0].bar(range(3), [1.5, 3.2, 4.1])
    axes[0, 0].set_title(TEXT, fontweight="bold")
    axes[0, 0].set_xticks(range(3), ["Natural", "Opus 24 kbps", "ScoreDec"])
    return fig


def _objects(pdf: bytes) -> dict[str, bytes]:
    """The objects of an uncompressed PDF by number, the embedded font files left out."""
    objects = dict(re.findall(rb"\n(\d+) 0 obj\n(.*?)\nendobj", pdf, flags=re.DOTALL))
    return {n.decode(): body for n, body in objects.items() if b"/Length1" not in body}


def test_pdf_pages_are_the_same_with_and_without_the_layout_tables(tmp_path: Path, monkeypatch) -> None:
    pdfs = {}
    for name in ("layout_free", "matplotlib"):
        if name == "matplotlib":  # matplotlib's own subsetting: fontTools with its default options
            from fontTools import subset

            monkeypatch.setattr(_backend_pdf_ps, "subset", subset)
        with plt.rc_context({**STYLE, "pdf.compression": 0}):
            fig = _figure()
            fig.savefig(tmp_path / f"{name}.pdf", format="pdf", metadata={"CreationDate": None})
            plt.close(fig)
        pdfs[name] = (tmp_path / f"{name}.pdf").read_bytes()
    assert b"/FontFile2" in pdfs["layout_free"] and b"/Subtype /Type3" not in pdfs["layout_free"]  # TrueType
    # every page object, font dictionary, width table and character map is the same; only the font files differ
    assert _objects(pdfs["layout_free"]) == _objects(pdfs["matplotlib"])
    assert len(pdfs["layout_free"]) < len(pdfs["matplotlib"])


def test_subsets_keep_every_glyph_and_drop_only_the_layout_tables(monkeypatch) -> None:
    path = font_manager.findfont("DejaVu Sans")
    gids = {FT2Font(path).get_char_index(ord(c)) for c in TEXT}
    font_path = font_manager.FontPath(path, 0) if hasattr(font_manager, "FontPath") else path

    def subset_now() -> tuple[TTFont, dict[int, int]]:
        with _backend_pdf_ps.get_glyphs_subset(font_path, gids) as result:
            return TTFont(_backend_pdf_ps.font_as_file(result.font)), dict(result.glyph_index_map)

    ours, our_map = subset_now()
    from fontTools import subset

    monkeypatch.setattr(_backend_pdf_ps, "subset", subset)
    theirs, their_map = subset_now()
    assert {"GSUB", "GPOS"} <= set(theirs.keys())  # DejaVu Sans has them: the comparison means something
    assert not set(LAYOUT_TABLES) & set(ours.keys())
    assert set(theirs.keys()) - set(ours.keys()) <= set(LAYOUT_TABLES)
    # the same glyphs at the same indices; matplotlib's subset adds only glyphs that layout rules reach (size
    # variants of brackets here), which no character maps to and no PDF page refers to
    order = ours.getGlyphOrder()
    assert theirs.getGlyphOrder()[: len(order)] == order
    assert not set(theirs.getGlyphOrder()[len(order):]) & set(theirs.getBestCmap().values())
    assert ours.getBestCmap() == theirs.getBestCmap() and len(ours.getBestCmap()) >= len(set(TEXT)) - 1
    assert gids <= set(our_map) and all(their_map[g] == new for g, new in our_map.items())
    for glyph in order:
        assert ours["glyf"][glyph].compile(ours["glyf"]) == theirs["glyf"][glyph].compile(theirs["glyf"]), glyph
        assert ours["hmtx"][glyph] == theirs["hmtx"][glyph], glyph


def test_report_figures_are_saved_as_png_and_pdf(tmp_path: Path) -> None:
    paths = save(_figure(), tmp_path / "plot")
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    assert paths[1].read_bytes().startswith(b"%PDF") and b"/FontFile2" in paths[1].read_bytes()
