"""Quality against NFE: a real run holding one post-filter at several NFE gets the figure and the table."""

from __future__ import annotations

import pytest
from conftest import demo_clips

from bench.cli import main
from reports.display import system_names
from reports.nfe import nfe_points, seconds_per_second
from reports.rundata import load_run

pytestmark = pytest.mark.usefixtures("torch_one_thread")
# one run holding one post-filter at several NFE needs per-system options (``opus+spf[steps=8]``)
pytest.importorskip("systems.options", reason="per-system options (opus+spf[steps=N]) are not in this build")


def test_run_with_one_post_filter_at_several_nfe_reports_quality_against_nfe(tmp_path):
    from systems import SYSTEMS, RunSettings

    if SYSTEMS.get("opus").unavailable_reason(RunSettings()):
        pytest.skip("opus unavailable")
    specs = ["opus", *(f"opus+spf[sampler=ode,steps={n}]" for n in (1, 2, 4)), "opus+spf[sampler=sde,steps=1]"]
    out = tmp_path / "run"
    data = demo_clips(tmp_path / "data", n=2, seconds=1.0)  # the post-filter's cost grows with the audio
    assert main(["run", "--systems", ",".join(specs), "--data", f"folder:{data}", "--metrics", "si_sdr",
                 "--workers", "1", "--out", str(out), "--quiet"]) == 0
    run = load_run(out)
    points = nfe_points(run)
    # the SDE sampler appears once only: no curve of its own; opus has no NFE
    assert [(p.sampler, p.nfe) for p in points] == [("ode", 1), ("ode", 2), ("ode", 4)]
    assert {p.family for p in points} == {"opus+spf"}
    rtf = seconds_per_second(run, points[0].system)
    assert len(rtf) == 2 and all(r > 0 for r in rtf)
    report = out / "report"
    assert (report / "plots" / "quality_vs_nfe.png").is_file() and (report / "plots" / "quality_vs_nfe.pdf").is_file()
    md = (report / "nfe.md").read_text()
    names = system_names(run)  # the table shows display names ("Opus+SPF 24 kbps [sampler=ode,steps=2]")
    assert "s per s audio" in md and all(names[p.system] in md for p in points)
    html = (report / "index.html").read_text()
    assert "Quality against network evaluations" in html and "quality_vs_nfe.png" in html


def test_a_run_without_several_nfe_has_no_nfe_section(tmp_path):
    from systems import SYSTEMS, RunSettings

    if SYSTEMS.get("opus").unavailable_reason(RunSettings()):
        pytest.skip("opus unavailable")
    out = tmp_path / "run"
    assert main(["run", "--systems", "opus", "--data", "demo", "--limit", "1", "--metrics", "si_sdr",
                 "--workers", "1", "--out", str(out), "--quiet"]) == 0
    assert nfe_points(load_run(out)) == []
    assert not (out / "report" / "nfe.md").exists()
