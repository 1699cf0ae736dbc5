"""A run on demo weights or the synthetic demo corpus says so where a reader looks first: at the top of the
report and the demo page, and in the notes of summary.tex; a run on real data with real weights does not."""

from __future__ import annotations

import json
from pathlib import Path

from reports.build import build_report
from reports.notices import run_caveats
from reports.rundata import load_run

try:
    from test_reports_fixtures import make_run
except ImportError:  # tests/ imported as a package
    from tests.test_reports_fixtures import make_run


def caveat_block(html: str) -> str:
    return html.split('id="caveats"', 1)[1].split("</div>", 1)[0] if 'id="caveats"' in html else ""


def test_demo_weights_and_synthetic_corpus_are_visible_on_every_page(tmp_path: Path):
    root = make_run(tmp_path / "run")
    info = json.loads((root / "run.json").read_text())
    info["systems"]["lowpass"]["provenance"] = {"codec": {"weights": "/ckpt/real.pt"}, "postfilter": {"weights": "demo"}}
    info["systems"]["noisy"]["description"] += " (demo weights)"
    info["corpus"]["spec"] = "demo"
    info["systems"]["delayed"]["alignment"] = {"mode": "system", "lag": 48, "peak": 0.2, "flag": "weak", "weak_below": 0.3}
    (root / "run.json").write_text(json.dumps(info))
    build_report([root])
    for page in (root / "report" / "index.html", root / "report" / "demo" / "index.html"):
        block = caveat_block(page.read_text())
        assert "Demo weights: lowpass, noisy ran the small demo weights" in block, page
        assert "Synthetic corpus" in block, page
    index = (root / "report" / "index.html").read_text()
    matrix = index.split('id="significance"')[1].split("</details>")[0]  # next to the paragraph
    assert matrix.count("class=\"sigmatrix\"") >= 1 and "Holm" in matrix  # one per report metric
    summary = index.split('id="summary"')[1].split("<h2")[0]
    rows = {r.split('"', 1)[0]: r for r in summary.split(' data-system="')[1:]}
    assert '<tr class="role-reference"' in summary.split(' data-system="natural"')[0][-40:]  # the reference set apart
    assert ">Natural<" in rows["natural"] or "</span>Natural" in rows["natural"]  # its display name
    assert '<tr class=" flagged"' in summary.split(' data-system="delayed"')[0][-40:]
    assert 'delayed <span class="flag" title="alignment flag: weak' in rows["delayed"].split("</tr>")[0]
    assert summary.split(' data-system="lowpass"')[0].endswith('<tr class=""')
    assert "Summary of" not in summary and "scrolls sideways" in summary  # no second heading; a phone hint
    tex = (root / "report" / "summary.tex").read_text()
    assert "Demo weights: lowpass, noisy" in tex and "Synthetic corpus" in tex
    assert tex.index("Demo weights") < tex.index(r"\end{table")  # inside the float, under the table


def test_a_run_on_real_data_has_no_caveat(tmp_path: Path):
    root = make_run(tmp_path / "run")
    assert run_caveats(load_run(root)) == []
