"""CCR and DCR (paired comparisons): the order is randomised per participant and undone when stored, the
reference always comes first in DCR, and the analysis gives CMOS with 95% CIs and tests against 0."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import numpy as np
import pytest
from scipy import stats

from bench.cli import main as bench_main
from listening_test.build import BuildOptions, build_test
from listening_test.definition import TestDefinition
from listening_test.testtypes.pairs import parse_pairs
from tests.listen_util import fill_answers, make_run_folder
from tests.test_listen_browser import new_page, play_all, serve, start_trials


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return make_run_folder(tmp_path_factory.mktemp("run"), n_utts=3, seconds=1.0)


def build(run_dir: Path, out: Path, kind: str, **kw) -> TestDefinition:
    build_test(BuildOptions(run_dir=run_dir, out=out, type=kind, items=2, seconds=0.6, **kw))
    return TestDefinition.load(out)


def test_pairs_are_parsed_and_bad_ones_named():
    assert parse_pairs("opus:opus_spf, audiodec_stage1:scoredec") == [("opus", "opus_spf"),
                                                                       ("audiodec_stage1", "scoredec")]
    for bad in ("opus", "opus:opus", ":x", ""):
        with pytest.raises(ValueError):
            parse_pairs(bad)


def test_ccr_cli_needs_pairs_and_refuses_unknown_systems(run_dir, tmp_path, capsys):
    assert bench_main(["listen", "build", str(run_dir), "--type", "ccr", "--out", str(tmp_path / "a")]) == 2
    assert "--pairs" in capsys.readouterr().err
    assert bench_main(["listen", "build", str(run_dir), "--type", "ccr", "--pairs", "noisy:nope",
                       "--out", str(tmp_path / "b")]) == 2
    assert "nope" in capsys.readouterr().err


def test_ccr_order_is_undone_and_cmos_analysed(run_dir, tmp_path):
    definition = build(run_dir, tmp_path, "ccr", pairs=[("noisy", "muffled"), ("reference", "noisy")])
    assert len(definition.trials) == 4
    canonical: dict[str, list[float]] = {"muffled vs noisy": [], "noisy vs reference": []}
    orders = set()
    server, _ = serve(tmp_path)
    with server as srv, httpx.Client(base_url=srv.url) as c:
        for n in range(12):
            pid = c.post("/api/sessions", json={"consent": True}).json()["participant"]
            for step in ("level", "training"):
                c.post(f"/api/sessions/{pid}/progress", json={"step": step})
            for trial in c.get(f"/api/sessions/{pid}").json()["trials"]:
                first, second = (s["id"] for s in trial["stimuli"])
                t = definition.trial(trial["id"])
                item = definition.item(t.item)
                a, b = (item.stimulus(s).system for s in t.stimuli)
                # a listener who prefers muffled over noisy by 2 and the reference over noisy by 1, either way round
                truth = {("noisy", "muffled"): 2, ("reference", "noisy"): -1}[(a, b)] + (n % 3 == 0)
                reversed_ = [first, second] != t.stimuli
                orders.add(reversed_)
                score = -truth if reversed_ else truth
                wrong = c.post(f"/api/sessions/{pid}/trials/{trial['id']}",
                               json={"key": f"ccr{n}x{trial['id'][:20]}", "ratings": {first: score}, "time_ms": 30_000})
                assert wrong.status_code == 422  # the rating belongs to the second sample
                r = c.post(f"/api/sessions/{pid}/trials/{trial['id']}",
                           json={"key": f"ccr{n}{trial['id'][:20]}", "ratings": {second: score}, "time_ms": 30_000})
                assert r.status_code == 201, r.text
                canonical[f"{b} vs {a}"].append(float(truth))
    assert orders == {True, False}  # both presentation orders occurred
    with sqlite3.connect(tmp_path / "results.sqlite") as conn:
        stored = sorted(conn.execute("SELECT system, score FROM ratings"))
    assert stored == sorted((k, v) for k, vs in canonical.items() for v in vs)
    assert bench_main(["listen", "analyze", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "analysis" / "analysis.json").read_text())
    summary = {r["condition"]: r for r in result["summary"]}
    for cond, x in canonical.items():
        x = np.array(x)
        low, high = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
        assert summary[cond]["mean"] == pytest.approx(x.mean())
        assert (summary[cond]["ci95_low"], summary[cond]["ci95_high"]) == pytest.approx((low, high))
        test = next(p for p in result["pairwise"] if p["a"] == cond)
        assert test["b"] == "no difference (0)" and test["p"] == pytest.approx(stats.wilcoxon(x).pvalue)


def test_ccr_and_dcr_in_the_browser(browser, run_dir, tmp_path):
    for kind, extra in (("ccr", {"pairs": [("noisy", "muffled")]}), ("dcr", {"systems": ["noisy"]})):
        out = tmp_path / kind
        definition = build(run_dir, out, kind, **extra)
        server, _ = serve(out)
        expected = {}
        with server as srv:
            page, errors = new_page(browser)
            start_trials(page, srv.url)
            total = len(definition.trials)
            for n in range(1, total + 1):
                page.get_by_role("heading", name=f"Trial {n} of {total}").wait_for()
                first, second = (b.get_attribute("data-stimulus") for b in page.locator("button.stim").all())
                trial = next(t for t in definition.trials if set(t.stimuli) == {first, second})
                item = definition.item(trial.item)
                if kind == "dcr":
                    assert item.stimulus(first).system == "reference"  # the reference always comes first
                score = {"ccr": -2 + n, "dcr": 2 + n}[kind]
                page.locator(f"input[name=pair][value='{score}']").check()
                assert page.locator("#next").is_disabled()  # both samples must be played
                play_all(page)
                page.click("#next")
                sign = 1 if [first, second] == trial.stimuli else -1
                expected[trial.id] = float(sign * score) if kind == "ccr" else float(score)
            page.get_by_role("heading", name="A few questions").wait_for()
            fill_answers(page)
            page.click("#submit-questionnaire")
            page.locator("#done").wait_for()
            assert not errors, errors
        with sqlite3.connect(out / "results.sqlite") as conn:
            assert dict(conn.execute("SELECT trial, score FROM ratings")) == expected


@pytest.mark.parametrize("no_preference", [False, True])
def test_ab_preference_in_the_browser_with_binomial_shares(browser, run_dir, tmp_path, no_preference):
    definition = build(run_dir, tmp_path, "ab", pairs=[("noisy", "muffled")], no_preference=no_preference)
    server, _ = serve(tmp_path)
    expected = {}
    with server as srv:
        page, errors = new_page(browser)
        start_trials(page, srv.url)
        total = len(definition.trials)
        for n in range(1, total + 1):
            page.get_by_role("heading", name=f"Trial {n} of {total}").wait_for()
            assert page.locator("input[name=pair]").count() == (3 if no_preference else 2)
            first, second = (b.get_attribute("data-stimulus") for b in page.locator("button.stim").all())
            trial = next(t for t in definition.trials if set(t.stimuli) == {first, second})
            choice = 0 if (no_preference and n == 1) else (1 if n % 2 else -1)
            page.locator(f"input[name=pair][value='{choice}']").check()
            play_all(page)
            page.click("#next")
            expected[trial.id] = float(choice if [first, second] == trial.stimuli else -choice) + 0.0
        page.get_by_role("heading", name="A few questions").wait_for()
        fill_answers(page)
        page.click("#submit-questionnaire")
        page.locator("#done").wait_for()
        assert not errors, errors
        with httpx.Client(base_url=srv.url) as c:  # a forced choice refuses "no preference"
            pid = c.post("/api/sessions", json={"consent": True}).json()["participant"]
            for step in ("level", "training"):
                c.post(f"/api/sessions/{pid}/progress", json={"step": step})
            trial = c.get(f"/api/sessions/{pid}").json()["trials"][0]
            r = c.post(f"/api/sessions/{pid}/trials/{trial['id']}",
                       json={"key": "tiekey001", "ratings": {trial["stimuli"][1]["id"]: 0}, "time_ms": 1})
            assert r.status_code == (201 if no_preference else 422)
    with sqlite3.connect(tmp_path / "results.sqlite") as conn:
        stored = dict(conn.execute("SELECT trial, score FROM ratings r WHERE participant != ?", (pid,)))
    assert stored == expected


def test_ab_preference_table_matches_scipy(tmp_path):
    from listening_test.analysis import analyse
    from listening_test.ratings import Rating

    votes = [1] * 14 + [-1] * 4 + [0] * 3  # 14 of 18 decided votes prefer the second system
    ratings = [Rating(f"p{k}", f"t{k}", "i1", "muffled vs noisy", float(v)) for k, v in enumerate(votes)]
    analyse(ratings, "ab", tmp_path)
    import csv

    row = next(csv.DictReader((tmp_path / "preference.csv").open()))
    test = stats.binomtest(14, 18, 0.5)
    ci = test.proportion_ci(method="exact")
    assert (row["prefer_second"], row["prefer_first"], row["no_preference"]) == ("14", "4", "3")
    assert float(row["share_second"]) == pytest.approx(14 / 18)
    assert (float(row["ci95_low"]), float(row["ci95_high"])) == pytest.approx((ci.low, ci.high))
    assert float(row["p"]) == pytest.approx(test.pvalue)


def test_abx_in_the_browser_x_hidden_and_scored(browser, run_dir, tmp_path):
    definition = build(run_dir, tmp_path, "abx", pairs=[("noisy", "muffled")])
    server, _ = serve(tmp_path)
    expected = {}
    with server as srv:
        page, errors = new_page(browser)
        pid = start_trials(page, srv.url)
        session = httpx.get(f"{srv.url}/api/sessions/{pid}").json()
        total = len(definition.trials)
        for n in range(1, total + 1):
            page.get_by_role("heading", name=f"Trial {n} of {total}").wait_for()
            view = next(t for t in session["trials"] if t["id"] not in expected)
            assert view["x"] == f"/api/sessions/{pid}/x/{view['id']}"  # X's URL says nothing about A or B
            x_bytes = httpx.get(srv.url + view["x"]).content
            a, b = view["stimuli"]
            truth = a["id"] if x_bytes == httpx.get(srv.url + a["url"]).content else b["id"]
            answer = truth if n == 1 else next(s["id"] for s in (a, b) if s["id"] != truth)  # right, then wrong
            page.locator(f"input[name=abx][value='{answer}']").check()
            assert page.locator("#next").is_disabled()  # A, B and X must all be played
            play_all(page)
            page.click("#next")
            expected[view["id"]] = 1.0 if answer == truth else 0.0
        page.get_by_role("heading", name="A few questions").wait_for()
        fill_answers(page)
        page.click("#submit-questionnaire")
        page.locator("#done").wait_for()
        assert not errors, errors
    with sqlite3.connect(tmp_path / "results.sqlite") as conn:
        assert dict(conn.execute("SELECT trial, score FROM ratings")) == expected
    assert bench_main(["listen", "analyze", str(tmp_path)]) == 0
    row = (tmp_path / "analysis" / "abx.csv").read_text().splitlines()[1].split(",")
    assert row[:4] == ["muffled vs noisy", "2", "1", "0.5"]
    assert float(row[6]) == pytest.approx(stats.binomtest(1, 2, 0.5, alternative="greater").pvalue)
