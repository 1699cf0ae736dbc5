"""A run folder describes its inputs as they are now: a failure of the machine (disk full) is never stored,
a changed, fixed or newly provided input is computed again, and run.json describes every row in the folder.

Disk full is a real tmpfs of a few hundred kilobytes, mounted in a private mount namespace (``unshare``)."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import REPO, bench_cmd, read_rows, run_bench

RUN = ["--systems", "natural", "--metrics", "si_sdr", "--workers", "1", "--no-report"]


def _tone(path: Path, hz: float, seconds: float = 0.3) -> Path:
    t = np.arange(int(48000 * seconds)) / 48000
    sf.write(path, 0.3 * np.sin(2 * np.pi * hz * t), 48000, subtype="PCM_16")
    return path


def _corpus(folder: Path, names=("a", "b", "c", "d")) -> Path:
    folder.mkdir(parents=True)
    for i, n in enumerate(names):
        _tone(folder / f"{n}.wav", 200 + 100 * i)
    return folder


def _can_mount_tmpfs(where: Path) -> bool:
    if not shutil.which("unshare"):
        return False
    where.mkdir(exist_ok=True)
    r = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                        f"mount -t tmpfs -o size=64k tmpfs {shlex.quote(str(where))}"], check=False, capture_output=True)
    return r.returncode == 0


@pytest.mark.parametrize("stage,free_kb", [("references", 80), ("system", 320)])
def test_disk_full_is_one_line_and_never_stored(tmp_path, stage, free_kb):
    """The disk fills while references (or outputs) are written: one line names the folder and the space
    needed, exit 1; after space is freed the same command finishes with every row, nothing skipped."""
    disk = tmp_path / "disk"
    if not _can_mount_tmpfs(disk):
        pytest.skip("cannot mount a tmpfs in a private mount namespace here (unshare)")
    data = _corpus(tmp_path / "corpus")
    run = disk / "run"
    cmd = shlex.join(bench_cmd("run", "--data", f"folder:{data}", "--out", str(run), *RUN))
    q = {k: shlex.quote(str(v)) for k, v in {"disk": disk, "t": tmp_path}.items()}
    script = f"""set -u
mount -t tmpfs -o size=2m tmpfs {q['disk']} || exit 99
cd {shlex.quote(str(REPO))}
avail=$(df -k --output=avail {q['disk']} | tail -1)
dd if=/dev/zero of={q['disk']}/filler bs=1k count=$((avail - {free_kb})) 2>/dev/null
{cmd} >{q['t']}/out1 2>{q['t']}/err1; echo $? >{q['t']}/rc1
rm {q['disk']}/filler
{cmd} >{q['t']}/out2 2>{q['t']}/err2; echo $? >{q['t']}/rc2
cp -a {shlex.quote(str(run))} {q['t']}/after
"""
    r = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
                       check=False, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    err1 = (tmp_path / "err1").read_text()
    assert (tmp_path / "rc1").read_text().strip() == "1", err1
    assert "Traceback" not in err1
    lines = [ln for ln in err1.splitlines() if "disk full" in ln]
    assert len(lines) == 1 and str(run) in lines[0] and "needs about" in lines[0], err1
    if stage == "system":  # the references fitted: the disk filled in the system stage
        assert len(list((tmp_path / "after" / "reference").glob("*.json"))) == 4
    assert (tmp_path / "rc2").read_text().strip() == "0", (tmp_path / "err2").read_text()
    after = tmp_path / "after"
    rows = read_rows(after / "results.csv")
    assert not [r for r in rows if r["metric"] == "skipped_input"]
    assert sorted(r["utterance"] for r in rows if r["metric"] == "si_sdr" and r["system"] == "natural") == list("abcd")
    assert all(r["error"] == "" for r in rows if r["metric"] == "si_sdr"), rows
    doc = json.loads((after / "run.json").read_text())
    assert doc["status"] == "complete" and not doc["skipped_inputs"]
    assert not list(after.rglob(".tmp-*"))


def test_fixed_and_changed_inputs_are_recomputed(tmp_path):
    """An empty input replaced by a valid file, an input replaced by other audio and a ``files:`` output
    provided after the run are computed again on rerun (and said so); an input only touched is not."""
    data = _corpus(tmp_path / "corpus", names=("a", "b"))
    (data / "later.wav").write_bytes(b"")
    outs = tmp_path / "outs"
    outs.mkdir()
    for n in ("a", "b"):
        shutil.copy(data / f"{n}.wav", outs / f"{n}.wav")
    out = tmp_path / "run"
    args = ["run", "--data", f"folder:{data}", "--out", str(out), "--systems", "natural,files:mine=" + str(outs),
            "--metrics", "si_sdr", "--workers", "1", "--no-report", "--align", "none"]
    r = run_bench(*args)
    assert r.returncode == 0, r.stderr
    before = {(x["utterance"], x["system"], x["metric"]): x for x in read_rows(out / "results.csv")}
    assert before[("later", "", "skipped_input")]["error"].endswith("empty file (0 bytes)")
    sha_a = {i["id"]: i for i in json.loads((out / "run.json").read_text())["corpus"]["items"]}["a"]["sha256"]

    _tone(data / "later.wav", 700)  # fixed
    _tone(data / "a.wav", 900)  # other audio under the same name
    (outs / "later.wav").write_bytes((data / "later.wav").read_bytes())  # the output provided afterwards
    r = run_bench(*args)
    assert r.returncode == 0, r.stderr
    assert "recomputing 2 input(s) changed since the last run" in r.stderr, r.stderr
    rows = {(x["utterance"], x["system"], x["metric"]): x for x in read_rows(out / "results.csv")}
    assert ("later", "", "skipped_input") not in rows
    assert float(rows[("later", "files:mine", "si_sdr")]["value"]) > 50  # the same audio as its reference
    assert float(rows[("a", "files:mine", "si_sdr")]["value"]) < 0  # a.wav's output is now another tone
    items = {i["id"]: i for i in json.loads((out / "run.json").read_text())["corpus"]["items"]}
    assert items["a"]["sha256"] != sha_a and "error" not in items["later"]
    assert not json.loads((out / "run.json").read_text())["skipped_inputs"]

    (outs / "b.wav").write_bytes(b"")  # an output file changes: only that output is made again
    (data / "b.wav").touch()  # touched, same bytes: nothing to recompute
    r = run_bench(*args)
    assert r.returncode == 0, r.stderr
    assert "input(s) changed" not in r.stderr
    assert "recomputing 1 output(s) of files:mine whose file changed or appeared: b" in r.stderr, r.stderr
    rows = {(x["utterance"], x["system"], x["metric"]): x for x in read_rows(out / "results.csv")}
    assert "empty file" in rows[("b", "files:mine", "si_sdr")]["error"]
    assert rows[("b", "natural", "si_sdr")]["error"] == ""


def test_rerun_with_a_smaller_limit_keeps_run_json_true_to_the_rows(tmp_path):
    data = _corpus(tmp_path / "corpus")
    out = tmp_path / "run"
    assert run_bench("run", "--data", f"folder:{data}", "--out", str(out), *RUN).returncode == 0
    r = run_bench("run", "--data", f"folder:{data}", "--out", str(out), "--limit", "1", *RUN)
    assert r.returncode == 0, r.stderr
    doc = json.loads((out / "run.json").read_text())
    in_rows = {x["utterance"] for x in read_rows(out / "results.csv")}
    assert doc["corpus"]["n"] == len(doc["corpus"]["items"]) == 4
    assert {i["id"] for i in doc["corpus"]["items"]} == in_rows
    assert all(i.get("sha256") for i in doc["corpus"]["items"])


def test_the_summary_of_a_run_killed_during_metrics_says_partial_first(tmp_path):
    """The state a kill -9 in the metric stage leaves: run.json ``partial``, part of results.jsonl, no
    results.csv; the report's summary says so in its first sentence and counts what is missing."""
    from reports.rundata import load_run
    from reports.summary import summary_paragraph

    data = _corpus(tmp_path / "corpus")
    outs = tmp_path / "outs"
    shutil.copytree(data, outs)
    _tone(outs / "a.wav", 800)
    out = tmp_path / "run"
    r = run_bench("run", "--data", f"folder:{data}", "--out", str(out), "--systems", f"files:mine={outs},anchor35",
                  "--metrics", "si_sdr", "--workers", "1", "--no-report", "--align", "none")
    assert r.returncode == 0, r.stderr
    doc = json.loads((out / "run.json").read_text())
    doc["status"] = "partial"
    (out / "run.json").write_text(json.dumps(doc))
    log = (out / "results.jsonl").read_text().splitlines(keepends=True)
    kept = [x for x in log if json.loads(x)["utterance"] == "a"]  # one of four utterances scored
    (out / "results.jsonl").write_text("".join(kept))
    (out / "results.csv").unlink()
    text = summary_paragraph(load_run(out), ["si_sdr"])
    first = text.split(". ")[0]
    assert first.startswith("This run is partial") and f"{len(log) - len(kept)} of the {len(log)}" in first, text
    assert "Nothing failed" not in text


#: a metric and a system that run out of memory while the file OOM exists (test plugin)
OOM_PLUGIN = '''
import os
import numpy as np
from metrics.base import Metric, MetricSpec
from systems.base import System, SystemOutput


class Hungry(Metric):
    spec = MetricSpec("hungry", True, 48000, description="out of memory while OOM exists (test plugin)")

    def compute(self, *, reference, degraded, sample_rate):
        if os.path.exists(os.environ["OOM_FLAG"]):
            raise MemoryError("cannot allocate 8 GiB")
        return float(np.mean(np.abs(reference)))


class HungryCodec(System):
    kind = "hungrycodec"
    description = "out of memory on u 'b' while OOM exists (test plugin)"

    def process(self, audio, *, utterance_id):
        if utterance_id == "b" and os.path.exists(os.environ["OOM_FLAG"]):
            raise MemoryError("cannot allocate 8 GiB")
        return SystemOutput(np.asarray(audio, dtype=np.float32), None, {})
'''


def test_out_of_memory_is_retried_on_the_next_run_not_stored(tmp_path):
    """MemoryError in a system or a metric: nothing stored for it, run.json partial, exit 1; the next run
    (memory available again) computes exactly those and ends complete."""
    from conftest import bench_cmd, install_plugin

    env = install_plugin(tmp_path / "site", "oomplugin", OOM_PLUGIN,
                         "[codec_bench.metrics]\nhungry = oomplugin:Hungry\n"
                         "[codec_bench.systems]\nhungrycodec = oomplugin:HungryCodec\n")
    flag = tmp_path / "OOM"
    flag.write_text("")
    env["OOM_FLAG"] = str(flag)
    data = _corpus(tmp_path / "corpus", names=("a", "b"))
    out = tmp_path / "run"
    cmd = bench_cmd("run", "--data", f"folder:{data}", "--out", str(out), "--systems", "hungrycodec",
                    "--metrics", "hungry,si_sdr", "--workers", "1", "--no-report")
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)
    assert r.returncode == 1, r.stderr
    assert "failed for a cause of this machine" in r.stderr and "MemoryError" in r.stderr
    assert json.loads((out / "run.json").read_text())["status"] == "partial"
    stored = read_rows(out / "results.csv")
    assert not [x for x in stored if "MemoryError" in x["error"]]  # nothing of it is stored
    assert not (out / "audio" / "hungrycodec" / "b.json").exists()
    flag.unlink()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    rows = {(x["utterance"], x["metric"]): x for x in read_rows(out / "results.csv") if x["system"] == "hungrycodec"}
    assert all(rows[(u, m)]["error"] == "" for u in "ab" for m in ("hungry", "si_sdr")), rows
    assert json.loads((out / "run.json").read_text())["status"] == "complete"
