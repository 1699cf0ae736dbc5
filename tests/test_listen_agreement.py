"""Objective metrics against listeners: a synthetic panel with a known truth, and the CLI on real test folders."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from listen_util import make_run_folder

from bench.cli import main as bench_main
from bench.metric_stage import PairJob, evaluate_pair
from bench.runfolder.paths import RunDir
from bench.runfolder.results import ResultStore, Row
from listening_test.agreement import AgreementOptions, analyse_agreement
from listening_test.build import BuildOptions, build_test
from listening_test.definition import TestDefinition
from listening_test.ratings import Rating
from listening_test.webmushra import ratings_to_csv

N_ITEMS, N_CONDITIONS, N_ASSESSORS, NOISE = 10, 6, 8, 45.0


def truth(m: np.ndarray) -> np.ndarray:
    """The panel's expected score: a monotone (not linear) function of metric ``good``."""
    return 100 / (1 + np.exp(-6 * (m - 0.5)))


def synthetic_panel(seed: int) -> tuple[list[Rating], list[Row]]:
    """Scores = truth(good) + assessor noise; ``noisy`` is ``good`` plus much noise; ``unrelated`` is random;
    ``inverted`` is a lower-is-better copy of ``good`` with a little noise."""
    rng = np.random.default_rng(seed)
    good = rng.uniform(0, 1, (N_ITEMS, N_CONDITIONS))
    rows, ratings = [], []
    for i in range(N_ITEMS):
        for c in range(N_CONDITIONS):
            utt, cond = f"utt{i}", f"sys{c}"
            rows += [Row(utt, "s", cond, "good", float(good[i, c])),
                     Row(utt, "s", cond, "noisy", float(good[i, c] + rng.normal(0, 0.4))),
                     Row(utt, "s", cond, "unrelated", float(rng.uniform())),
                     Row(utt, "s", cond, "inverted", float(-good[i, c] + rng.normal(0, 0.15)))]
            for a in range(N_ASSESSORS):
                score = float(truth(good[i, c]) + rng.normal(0, NOISE))
                ratings.append(Rating(f"a{a}", utt, utt, cond, score))
    return ratings, rows


def true_spearman() -> float:
    """Spearman between the metric and the mean of N_ASSESSORS noisy scores, by Monte Carlo (2e5 draws)."""
    rng = np.random.default_rng(123)
    m = rng.uniform(0, 1, 200_000)
    y = truth(m) + rng.normal(0, NOISE / math.sqrt(N_ASSESSORS), m.shape)
    from scipy.stats import spearmanr

    return float(spearmanr(m, y)[0])


HIB = {"good": True, "noisy": True, "unrelated": True, "inverted": False}


def test_the_true_metric_ranks_first_and_its_interval_holds_the_truth():
    ratings, rows = synthetic_panel(seed=1)
    found = analyse_agreement(ratings, rows, HIB, None, AgreementOptions(bootstrap=400, seed=0))
    stimulus = [a for a in found if a.level == "stimulus"]
    system = [a for a in found if a.level == "system"]
    assert stimulus[0].metric == "good" and stimulus[0].n == N_ITEMS * N_CONDITIONS
    assert stimulus[1].metric == "inverted"  # lower is better: negated, so it agrees (positively) too
    assert stimulus[-1].metric == "unrelated"
    value, low, high = stimulus[0].coefficients["spearman"]
    rho = true_spearman()
    assert low <= rho <= high and low < value < high
    assert high - low < 0.3
    assert system[0].n == N_CONDITIONS
    assert stimulus[0].coefficients["pearson"][0] < value  # the relation is monotone, not linear


def test_bootstrap_is_reproducible_with_a_seed():
    ratings, rows = synthetic_panel(seed=2)
    run = [analyse_agreement(ratings, rows, HIB, None, AgreementOptions(bootstrap=200, seed=s)) for s in (7, 7, 8)]
    same = [(a.metric, a.level, a.coefficients) for a in run[0]]
    assert same == [(a.metric, a.level, a.coefficients) for a in run[1]]
    assert same != [(a.metric, a.level, a.coefficients) for a in run[2]]


def test_exclude_anchors_drops_anchor_and_reference_points():
    ratings, rows = synthetic_panel(seed=3)
    ratings = [Rating(r.assessor, r.trial, r.item, {"sys0": "reference", "sys1": "anchor35"}.get(r.system, r.system),
                      r.score) for r in ratings]
    rows = [Row(r.utterance, r.speaker, {"sys0": "reference", "sys1": "anchor35"}.get(r.system, r.system), r.metric,
                r.value) for r in rows]
    both = analyse_agreement(ratings, rows, HIB, None, AgreementOptions(bootstrap=100))
    without = analyse_agreement(ratings, rows, HIB, None, AgreementOptions(exclude_anchors=True, bootstrap=100))
    assert {a.n for a in both if a.level == "system"} == {N_CONDITIONS}
    assert {a.n for a in without if a.level == "system"} == {N_CONDITIONS - 2}


def score_run(run: Path, metrics: tuple[str, ...]) -> None:
    """Real metric rows for a synthetic run folder (the runner's own pair stage), written as results.csv."""
    rd = RunDir(run)
    store = ResultStore(rd.results_jsonl)
    for utt_dir in sorted((run / "reference").rglob("*.wav")):
        utt = str(utt_dir.relative_to(run / "reference").with_suffix(""))
        for system in ("natural", "noisy", "muffled", "anchor35", "anchor70"):
            job = PairJob(utt, utt.split("/")[0], system, str(rd.reference_wav(utt)), str(rd.audio_wav(system, utt)),
                          metrics, None, 1.0, False, False, True, 20.0)
            store.add(evaluate_pair(job))
    store.close()
    store.write_csv(rd.results_csv)


#: a panel that hears the low-passed signals as worse than the noisy one
MEANS = {"reference": 95, "noisy": 70, "muffled": 50, "anchor70": 60, "anchor35": 20}


@pytest.fixture(scope="module")
def scored_run(tmp_path_factory) -> Path:
    run = make_run_folder(tmp_path_factory.mktemp("run"), n_utts=6, seconds=1.0)
    score_run(run, ("lsd", "si_sdr", "mel_distance"))
    return run


@pytest.mark.parametrize("test_type", ["mushra", "mos"])
def test_cli_on_a_served_test_and_an_imported_csv(scored_run, tmp_path, test_type, capsys):
    """Ratings stored by the real storage (analyze) and the same ratings as a webMUSHRA CSV (import)."""
    from listening_test.storage import TrialRating, open_storage

    test = tmp_path / "test"
    build_test(BuildOptions(run_dir=scored_run, out=test, type=test_type, items=5, seconds=0.8))
    definition = TestDefinition.load(test)
    storage = open_storage(None, test)
    rng = np.random.default_rng(0)

    def score(system: str) -> float:
        x = float(np.clip(MEANS[system] + rng.normal(0, 5), 0, 100))
        return x if test_type == "mushra" else 1 + 4 * x / 100

    for a in range(4):
        storage.create_participant(f"p{a}")
        for trial in definition.trials:
            item = definition.item(trial.item)
            ratings = [TrialRating(s, item.stimulus(s).system, score(item.stimulus(s).system)) for s in trial.stimuli]
            storage.submit_trial(f"p{a}", trial.id, trial.item, f"k{a}{trial.id}", ratings, 60_000, "")
    assert bench_main(["listen", "analyze", str(test), "--against", str(scored_run), "--bootstrap", "200"]) == 0
    printed = capsys.readouterr().out
    assert "At the system level the listeners agreed best with" in printed
    out = test / "analysis"
    for name in ("agreement_system.csv", "agreement_stimulus.md", "agreement_system.tex", "agreement_lsd.png",
                 "agreement.md"):
        assert (out / name).is_file(), name
    table = (out / "agreement_stimulus.csv").read_text().splitlines()
    rows = [line.split(",") for line in table[1:]]
    assert sorted(r[0] for r in rows) == ["lsd", "mel_distance", "si_sdr"]
    spearman = [float(r[5]) for r in rows]
    assert spearman == sorted(spearman, reverse=True)  # ranked
    n_conditions = 5 if test_type == "mushra" else 3  # MOS: no anchors
    assert {int(r[1]) for r in rows} == {5 * n_conditions}  # 5 items x 5 conditions
    csv_path = tmp_path / "ratings.csv"
    csv_path.write_text(ratings_to_csv(storage.ratings(), "t", {}))
    assert bench_main(["listen", "import", str(csv_path), "--type", test_type, "--against", str(scored_run),
                       "--test", str(test), "--bootstrap", "200", "--out", str(tmp_path / "imp")]) == 0
    imported = [line.split(",") for line in (tmp_path / "imp" / "agreement_stimulus.csv").read_text().splitlines()[1:]]
    assert [r[0] for r in imported] == [r[0] for r in rows]
    # the CSV keeps 6 significant digits of each score
    assert [[float(v) for v in r[1:]] for r in imported] == [pytest.approx([float(v) for v in r[1:]], abs=1e-5)
                                                             for r in rows]


def test_cli_errors(scored_run, tmp_path, capsys):
    test = tmp_path / "t"
    build_test(BuildOptions(run_dir=scored_run, out=test, type="mushra", items=3, seconds=0.8))
    from listening_test.storage import TrialRating, open_storage

    d = TestDefinition.load(test)
    storage = open_storage(None, test)
    storage.create_participant("p")
    stim = d.item(d.trials[0].item).stimulus(d.trials[0].stimuli[0])
    storage.submit_trial("p", d.trials[0].id, d.trials[0].item, "k", [TrialRating(stim.id, stim.system, 50.0)], 1, "")
    assert bench_main(["listen", "analyze", str(test), "--no-screening", "--against", str(tmp_path / "nope")]) == 2
    assert "no results" in capsys.readouterr().err
