"""Performance benchmarks (``make bench``; not part of CI): one run, ratios printed and saved.

Measures, on the demo corpus with opus and both anchors (30 pairs; pesq_wb, stoi, si_sdr):

1. the metric stage with 1 worker, alignment included, against direct library calls on the same pairs
   (read, resample, call pesq/pystoi/SI-SDR; target: at most 10% overhead), and against the same calls
   plus the alignment the runner does (what the runner itself costs);
2. all cores against 1 worker (target: at least 1.7x on 2 cores);
3. ``--executor ray`` against the local pool on 2 CPUs (with and without Ray's start-up);
4. each neural system's real-time factor on CPU, through ``scripts/bench_audiodec_rtf.py`` and
   ``scripts/bench_spf.py`` and ``scripts/bench_released_rtf.py`` (EnCodec, DAC) when they exist;
5. the listening-test server's response times with 100 simultaneous participants on loopback, through
   ``scripts/bench_listen_load.py`` (target: 95th percentile under 1 s);
6. every available metric's CPU cost per second of audio (one thread, after a warm-up call; the
   reference/opus pairs of the demo corpus): what decides which metrics ``--metrics default`` leaves out;
7. the peak memory of a metric worker on a 10-minute file with every metric (``scripts/bench_memory.py``;
   target: under 2 GB).
8. the classical codecs' real-time factor on one CPU core (encode + decode of the demo corpus in process);
9. the command line's fixed costs: rerunning a finished ``bench run`` (natural, opus, lc3, symad, scoredec on
   the demo corpus; nothing to compute, the report unchanged; target: under 5 s) and ``bench systems``
   (every system checked; target: under 1 s), wall time of the command as a user starts it.

Each stage timing is the best of ``--repeat`` runs (the machine may be shared). Writes
``OUT/benchmark.json`` and ``OUT/README_table.md`` (default OUT: runs/bench) and prints the table.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from threadpoolctl import threadpool_limits

if TYPE_CHECKING:
    from bench.runner import RunConfig

REPO = Path(__file__).resolve().parents[1]
SYSTEMS = ["opus", "anchor35", "anchor70"]
METRICS = ["pesq_wb", "stoi", "si_sdr"]
RTF_SCRIPTS = {"audiodec": "scripts/bench_audiodec_rtf.py", "spf": "scripts/bench_spf.py",
               "encodec_dac": "scripts/bench_released_rtf.py"}
LISTEN_LOAD_SCRIPT = "scripts/bench_listen_load.py"
LISTEN_PARTICIPANTS = 100
#: classical codecs timed in process (encode + decode, one thread)
CODEC_RTF = ["opus", "lc3@16k", "lc3@32k"]


#: the corpus the timings use (set by prepare): the demo corpus, each file listed ``--copies`` times so that
#: the fixed costs of a run (process start-up, run.json) weigh as they do on a real corpus
CORPUS = {"data": "demo"}


def _config(out: Path, workers: int, executor: str = "local") -> RunConfig:
    from bench.runner import RunConfig

    return RunConfig(systems=SYSTEMS, data=CORPUS["data"], out=out, metrics=METRICS, workers=workers,
                     executor=executor, quiet=True, report=False)


def _copies_manifest(work: Path, copies: int) -> str:
    import csv

    from bench.corpora import DEMO_DIR

    path = work / "corpus.csv"
    with open(DEMO_DIR / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "path", "speaker"])
        for k in range(copies):
            for r in rows:
                w.writerow([f"{r['id']}_c{k}", str(DEMO_DIR / r["path"]), r["speaker"]])
    return f"manifest:{path}"


def prepare(work: Path, copies: int = 1) -> Path:
    """References and system outputs once (the metric stage is what is timed)."""
    from bench.runner import run

    work.mkdir(parents=True, exist_ok=True)
    CORPUS["data"] = _copies_manifest(work, copies) if copies > 1 else "demo"
    base = work / "base"
    if base.exists():
        shutil.rmtree(base)
    run(_config(base, workers=os.cpu_count() or 1))
    (base / "results.jsonl").unlink()
    return base


def pairs_of(base: Path) -> list[tuple[Path, Path]]:
    from bench.runfolder.paths import system_dir

    return [(base / "reference" / f.name, f) for s in SYSTEMS for f in sorted((base / "audio" / system_dir(s)).glob("*.wav"))]


def cpu_seconds() -> float:
    """User + system CPU time of this process and its reaped children (load-independent, unlike wall time)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def best_of(repeat: int, fn: Callable[[], float]) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds) over ``repeat`` calls of ``fn`` (which returns wall seconds)."""
    walls, cpus = [], []
    for _ in range(repeat):
        c0 = cpu_seconds()
        walls.append(fn())
        cpus.append(cpu_seconds() - c0)
    return min(walls), min(cpus)


def time_direct(pairs: list[tuple[Path, Path]], *, align: bool = False) -> float:
    """The same metrics called directly: read both files, resample per rate, call the library.

    With ``align``, also the alignment the runner does by default (``--align system``, 20 ms): one lag per
    system from all its pairs (:func:`bench.alignment.align_arrays`), then the shift.
    """
    from pesq import pesq
    from pystoi import stoi

    from bench.alignment import align_arrays, shift
    from bench.audio import SAMPLE_RATE, resample
    from bench.runfolder.wav import read_run_wav
    from metrics.waveform import SiSdr

    si_sdr = SiSdr()
    limit = threadpool_limits(1)  # one core, like one worker: OpenBLAS would otherwise spin on every core
    t0 = time.perf_counter()
    lags = {}
    if align:
        by_system: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
        for ref_path, deg_path in pairs:
            by_system.setdefault(deg_path.parent.name, {})[ref_path.name] = (read_run_wav(ref_path)[0],
                                                                             read_run_wav(deg_path)[0])
        lags = {s: align_arrays(p, SAMPLE_RATE * 20 // 1000).lag for s, p in by_system.items()}
    for ref_path, deg_path in pairs:
        ref, deg = read_run_wav(ref_path)[0], read_run_wav(deg_path)[0]
        deg = shift(deg, lags.get(deg_path.parent.name, 0))
        r16, d16 = resample(ref, SAMPLE_RATE, 16000), resample(deg, SAMPLE_RATE, 16000)
        pesq(16000, r16.astype(np.float64), d16.astype(np.float64), "wb")
        r10, d10 = resample(ref, SAMPLE_RATE, 10000), resample(deg, SAMPLE_RATE, 10000)
        stoi(r10.astype(np.float64), d10.astype(np.float64), 10000, extended=False)
        si_sdr.compute(reference=ref, degraded=deg, sample_rate=SAMPLE_RATE)
    elapsed = time.perf_counter() - t0
    limit.restore_original_limits()
    return elapsed


def metric_costs(pairs: list[tuple[Path, Path]], names: list[str] | None = None) -> dict[str, float]:
    """CPU seconds per second of audio for each available metric (or ``names``), one thread, model loading
    excluded. Metrics whose weights are not present (``wer``, ``cer`` without a Whisper checkpoint) are left out."""
    import torch

    from bench.audio import SAMPLE_RATE, resample
    from bench.runfolder.wav import read_run_wav
    from metrics import METRICS

    torch.set_num_threads(1)
    limit = threadpool_limits(1)
    signals = [(read_run_wav(r)[0], read_run_wav(d)[0]) for r, d in pairs]
    seconds = sum(len(r) for r, _ in signals) / SAMPLE_RATE
    out = {}
    for name in names or METRICS.names():
        cls = METRICS.get(name)
        if cls.unavailable_reason() or cls.weights_reason({}):
            continue
        metric, rate = cls(), cls.spec.sample_rate
        at_rate = [(resample(r, SAMPLE_RATE, rate), resample(d, SAMPLE_RATE, rate)) for r, d in signals]
        metric.compute(reference=at_rate[0][0] if cls.spec.needs_reference else None, degraded=at_rate[0][1] * 0.9,
                       sample_rate=rate)  # warm-up: model loading and JIT compilation are not per-second costs
        c0 = time.process_time()
        for r, d in at_rate:
            metric.compute(reference=r if cls.spec.needs_reference else None, degraded=d, sample_rate=rate)
        out[name] = (time.process_time() - c0) / seconds
    limit.restore_original_limits()
    return out


def time_stage(base: Path, work: Path, workers: int, executor: str = "local") -> float:
    """A whole ``bench run`` whose references and outputs exist: the metric stage plus fixed costs."""
    from bench.runner import run

    out = work / f"stage-{executor}-{workers}"
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(base, out)
    t0 = time.perf_counter()
    run(_config(out, workers=workers, executor=executor))
    return time.perf_counter() - t0


def _burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def machine_parallel_speedup(workers: int) -> float:
    """What ``workers`` processes give on this machine right now: pure-Python CPU burn, pool vs serial.

    A control for the stage's speedup: on a shared machine it is the ceiling, well below ``workers``.
    """
    from concurrent.futures import ProcessPoolExecutor

    jobs = [2_000_000] * (4 * workers)
    t0 = time.perf_counter()
    for j in jobs:
        _burn(j)
    serial = time.perf_counter() - t0
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_burn, jobs[:workers]))  # start the workers first
        t0 = time.perf_counter()
        list(pool.map(_burn, jobs))
        parallel = time.perf_counter() - t0
    return serial / parallel


def time_ray_startup(workers: int) -> float:
    from bench.ray_executor import RayExecutor

    t0 = time.perf_counter()
    RayExecutor(workers=workers).close()
    return time.perf_counter() - t0


def neural_rtf() -> dict[str, Any]:
    """Run each neural system's RTF helper if the tree has it; its last stdout line may be JSON."""
    out: dict[str, Any] = {}
    for name, rel in RTF_SCRIPTS.items():
        script = REPO / rel
        if not script.exists():
            out[name] = {"status": "not available", "reason": f"{rel} is not in this tree"}
            continue
        r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=REPO, timeout=1800,
                           check=False)
        lines = r.stdout.strip().splitlines()
        entry: dict[str, Any] = {"status": "ok" if r.returncode == 0 else f"failed (exit {r.returncode})",
                                 "output": lines[-12:], "stderr": r.stderr.strip().splitlines()[-3:]}
        try:
            entry["result"] = json.loads(lines[-1])
        except (IndexError, json.JSONDecodeError):
            pass
        out[name] = entry
    return out


def long_file_memory(minutes: float) -> dict[str, Any]:
    """Peak memory per metric worker on one long file (scripts/bench_memory.py prints it as its last line)."""
    r = subprocess.run([sys.executable, str(REPO / "scripts" / "bench_memory.py"), "--minutes", str(minutes)],
                       capture_output=True, text=True, cwd=REPO, timeout=7200, check=False)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"status": f"failed (exit {r.returncode})", "reason": r.stderr.strip()[-300:]}


def _memory_cell(m: dict[str, Any]) -> str:
    if "worker_peak_mb" not in m:
        return f"{m.get('status', 'not measured')}: {m.get('reason', '')}"
    refused = sorted(k for k, v in m["results"].items() if "too long" in str(v))
    return (f"{m['worker_peak_mb']} MB per worker (main process {m['main_peak_mb']} MB); "
            f"{', '.join(refused)} refused (too long), the rest scored")


def codec_rtf(repeat: int) -> dict[str, Any]:
    """Real-time factor of each classical codec on the demo corpus: processing seconds / audio seconds."""
    from bench.audio import load_input
    from bench.corpora import open_corpus
    from systems import RunSettings, build_system

    audio = [load_input(u.path).audio for u in open_corpus("demo").utterances()]
    seconds = sum(len(a) for a in audio) / 48000
    out: dict[str, Any] = {}
    for spec in CODEC_RTF:
        try:
            system = build_system(spec, RunSettings())
        except Exception as exc:  # noqa: BLE001 - a codec missing here is reported, not fatal
            out[spec] = {"status": f"not available ({exc})"}
            continue

        def once(system=system) -> float:
            t0 = time.perf_counter()
            for i, a in enumerate(audio):
                system.process(a, utterance_id=str(i))
            return time.perf_counter() - t0

        best = min(once() for _ in range(repeat))
        out[spec] = {"status": "ok", "rtf": best / seconds, "audio_s": seconds, "name": system.description}
    return out


def listen_load() -> dict[str, Any]:
    """Response times of the listening server under ``LISTEN_PARTICIPANTS`` simultaneous participants."""
    r = subprocess.run([sys.executable, str(REPO / LISTEN_LOAD_SCRIPT), "--participants", str(LISTEN_PARTICIPANTS)],
                       capture_output=True, text=True, cwd=REPO, timeout=900, check=False)
    lines = r.stdout.strip().splitlines()
    try:
        return {"status": "ok" if r.returncode == 0 else f"failed (exit {r.returncode})", **json.loads(lines[-1])}
    except (IndexError, json.JSONDecodeError):
        return {"status": f"failed (exit {r.returncode})", "stderr": r.stderr.strip().splitlines()[-3:]}


def _listen_cell(r: dict[str, Any]) -> str:
    if "p95_s" not in r:
        return r["status"]
    return (f"p95 {r['p95_s'] * 1000:.0f} ms, max {r['max_s'] * 1000:.0f} ms, median {r['p50_s'] * 1000:.0f} ms "
            f"({r['requests']} requests, {r['ratings_stored']} of {r['ratings_expected']} ratings stored, "
            f"{r['errors']} errors)" + ("" if r["status"] == "ok" else f"; {r['status']}"))


def _rtf_cell(entry: dict[str, Any]) -> str:
    if entry["status"] != "ok":
        return entry["status"]
    res = entry.get("result")
    if isinstance(res, dict):
        rtfs = {k: v for k, v in res.items() if "rtf" in k.lower() and isinstance(v, (int, float))}
        if rtfs:
            return ", ".join(f"{k} {v:.3g}" for k, v in rtfs.items())
    lines = [line.strip() for line in entry["output"] if "rtf" in line.lower()]
    return "; ".join(lines[-3:]).replace("|", "/") or "ok (no RTF printed)"


#: the finished run that is rerun for the command-line timing (every kind of system: C codecs, torch, SPF)
RERUN = ["run", "--systems", "natural,opus,lc3,anchor35,symad,scoredec", "--data", "demo", "--limit", "2",
         "--metrics", "si_sdr,pesq_wb"]


def cli_times(work: Path, repeat: int) -> dict[str, float]:
    """Wall seconds (best of ``repeat``) of rerunning a finished ``bench run``, and of ``bench systems``."""
    out = work / "rerun"
    cmd = [sys.executable, "-m", "bench"]
    subprocess.run([*cmd, *RERUN, "--out", str(out), "--quiet"], cwd=REPO, check=True, capture_output=True)

    def wall(args: list[str]) -> float:
        t = time.perf_counter()
        subprocess.run([*cmd, *args], cwd=REPO, check=True, capture_output=True)
        return time.perf_counter() - t

    return {"rerun_s": min(wall([*RERUN, "--out", str(out)]) for _ in range(repeat)),
            "systems_s": min(wall(["systems"]) for _ in range(repeat))}


def table(r: dict[str, Any]) -> str:
    n, cores = r["pairs"], r["cores"]
    rows = [
        ("measurement", "result", "target"),
        ("---", "---", "---"),
        ((f"metric stage with its alignment (one lag per system), 1 worker, vs direct library calls ({n} pairs: "
          f"{', '.join(METRICS)})"),
         (f"{r['overhead_1_worker'] * 100:+.1f}% wall ({r['stage_1_worker_s']:.1f} s vs {r['direct_s']:.1f} s), "
         f"{r['overhead_1_worker_cpu'] * 100:+.1f}% CPU time"), "<= +10%"),
        (("the same, against direct calls plus the same alignment (the runner's own cost: jobs, fsync'ed log, "
         "run.json, si_sdr_raw)"), (f"{r['overhead_vs_aligned'] * 100:+.1f}% wall ({r['direct_aligned_s']:.1f} s), "
                       f"{r['overhead_vs_aligned_cpu'] * 100:+.1f}% CPU time"), "-"),
        (f"metric stage, {cores} workers vs 1 worker", (f"{r['speedup_all_cores']:.2f}x "
         f"({r['stage_all_cores_s']:.1f} s vs {r['stage_1_worker_s']:.1f} s); the machine gave "
         f"{r['machine_parallel_speedup']:.2f}x to a pure CPU burn at the time"), ">= 1.7x on 2 cores"),
    ]
    if "ray_s" in r:
        rows.append(("`--executor ray` vs local, 2 CPUs (local time / ray time)",
                     (f"{r['ray_vs_local']:.2f}x with Ray start-up ({r['ray_s']:.1f} s vs {r['local_2_s']:.1f} s); "
                     f"{r['ray_vs_local_steady']:.2f}x without ({r['ray_startup_s']:.1f} s start-up)"), "-"))
    else:
        rows.append(("`--executor ray` vs local, 2 CPUs", r.get("ray_skipped", "not available"), "-"))
    for name, entry in r.get("codec_rtf", {}).items():
        cell = (f"{entry['rtf']:.4f} ({entry['audio_s']:.0f} s of speech; {entry['name']})" if entry["status"] == "ok"
                else entry["status"])
        rows.append((f"`{name}` real-time factor on one CPU core (encode + decode)", cell, "-"))
    for name, entry in r["neural_rtf"].items():
        rows.append((f"{name} real-time factor on CPU", _rtf_cell(entry), "-"))
    costs = r.get("metric_cpu_s_per_audio_s", {})
    if costs:
        pesq = costs.get("pesq_wb")
        rows.append((("metric CPU cost per second of audio (1 thread; opus outputs of the demo corpus; "
                      "in brackets: times PESQ-WB in the same run)"),
                     ", ".join(f"{m} {v * 1000:.0f} ms" + (f" ({v / pesq:.1f}x)" if pesq else "")
                               for m, v in sorted(costs.items(), key=lambda kv: kv[1])),
                     "-"))
    if "cli" in r:
        rows.append((("rerun of a finished `bench run` (natural, opus, lc3, anchor35, symad, scoredec; 2 demo "
                     "utterances; report unchanged)"), f"{r['cli']['rerun_s']:.1f} s", "< 5 s"))
        rows.append(("`bench systems` (every system checked)", f"{r['cli']['systems_s']:.1f} s", "< 1 s"))
    if "listen_load" in r:
        what = (f"listening server, {LISTEN_PARTICIPANTS} simultaneous participants on loopback (each: "
                "session, level, training, plan, 4 MUSHRA trials, questionnaire)")
        rows.append((what, _listen_cell(r["listen_load"]), "p95 < 1 s"))
    if "long_file_memory" in r:
        rows.append((f"peak memory, {r['long_file_memory'].get('minutes', 10):g}-minute file, every metric",
                     _memory_cell(r["long_file_memory"]), "< 2 GB per worker"))
    load = max(r["load_average_before"], r["load_average_after"])
    note = (f"\n\nMeasured on {cores} cores with a 1-minute load average up to {load:.1f}"
            + (" (the machine was shared: wall-clock ratios understate what idle cores give)." if load > cores
               else "."))
    return "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows) + note


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=REPO / "runs" / "bench", help="where to write (default runs/bench)")
    p.add_argument("--repeat", type=int, default=2, help="take the best of N timings (default 2)")
    p.add_argument("--no-ray", action="store_true", help="skip the Ray comparison")
    p.add_argument("--memory-minutes", type=float, default=10.0,
                   help="length of the long file for the peak-memory measurement (default 10; 0 skips it)")
    p.add_argument("--copies", type=int, default=4,
                   help="list each demo file N times (default 4: 120 pairs), so fixed costs weigh as on a real corpus")
    args = p.parse_args(argv)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    work = args.out / "work"
    work.mkdir(parents=True, exist_ok=True)
    cores = os.cpu_count() or 1
    print("preparing references and system outputs ...", file=sys.stderr)
    base = prepare(work, args.copies)
    pairs = pairs_of(base)
    r: dict[str, Any] = {"pairs": len(pairs), "cores": cores, "systems": SYSTEMS, "metrics": METRICS,
                         "repeat": args.repeat, "corpus": f"demo x {args.copies}"}
    r["load_average_before"] = os.getloadavg()[0]
    print("direct library calls ...", file=sys.stderr)
    r["direct_s"], r["direct_cpu_s"] = best_of(args.repeat, lambda: time_direct(pairs))
    r["direct_aligned_s"], r["direct_aligned_cpu_s"] = best_of(args.repeat, lambda: time_direct(pairs, align=True))
    print("metric stage, 1 worker ...", file=sys.stderr)
    r["stage_1_worker_s"], r["stage_1_worker_cpu_s"] = best_of(args.repeat, lambda: time_stage(base, work, 1))
    print(f"metric stage, {cores} workers ...", file=sys.stderr)
    r["stage_all_cores_s"], _ = best_of(args.repeat, lambda: time_stage(base, work, cores))
    r["overhead_1_worker"] = r["stage_1_worker_s"] / r["direct_s"] - 1
    r["overhead_1_worker_cpu"] = r["stage_1_worker_cpu_s"] / r["direct_cpu_s"] - 1
    r["overhead_vs_aligned"] = r["stage_1_worker_s"] / r["direct_aligned_s"] - 1
    r["overhead_vs_aligned_cpu"] = r["stage_1_worker_cpu_s"] / r["direct_aligned_cpu_s"] - 1
    r["speedup_all_cores"] = r["stage_1_worker_s"] / r["stage_all_cores_s"]
    r["machine_parallel_speedup"] = machine_parallel_speedup(cores)
    if args.no_ray:
        r["ray_skipped"] = "skipped (--no-ray)"
    elif importlib.util.find_spec("ray") is None:
        r["ray_skipped"] = "not available (pip install 'codec-bench[ray]')"
    else:
        print("ray vs local on 2 CPUs ...", file=sys.stderr)
        r["local_2_s"] = (r["stage_all_cores_s"] if cores == 2
                          else best_of(args.repeat, lambda: time_stage(base, work, 2))[0])
        r["ray_startup_s"] = min(time_ray_startup(2) for _ in range(args.repeat))
        r["ray_s"], _ = best_of(args.repeat, lambda: time_stage(base, work, 2, executor="ray"))
        r["ray_vs_local"] = r["local_2_s"] / r["ray_s"]
        r["ray_vs_local_steady"] = r["local_2_s"] / max(1e-9, r["ray_s"] - r["ray_startup_s"])
    print("metric costs per second of audio ...", file=sys.stderr)
    r["metric_cpu_s_per_audio_s"] = metric_costs([p for p in pairs if "/opus/" in str(p[1])][:10])
    print("classical codecs' real-time factors ...", file=sys.stderr)
    with threadpool_limits(1):
        r["codec_rtf"] = codec_rtf(args.repeat)
    print("rerun of a finished run, bench systems ...", file=sys.stderr)
    r["cli"] = cli_times(work, args.repeat)
    print(f"  rerun {r['cli']['rerun_s']:.1f} s, bench systems {r['cli']['systems_s']:.1f} s", file=sys.stderr)
    print("neural systems' real-time factors ...", file=sys.stderr)
    r["neural_rtf"] = neural_rtf()
    print(f"listening server with {LISTEN_PARTICIPANTS} participants ...", file=sys.stderr)
    r["listen_load"] = listen_load()
    if args.memory_minutes > 0:
        print(f"peak memory on a {args.memory_minutes:g}-minute file ...", file=sys.stderr)
        r["long_file_memory"] = long_file_memory(args.memory_minutes)
    r["load_average_after"] = os.getloadavg()[0]
    shutil.rmtree(work, ignore_errors=True)
    (args.out / "benchmark.json").write_text(json.dumps(r, indent=1))
    md = table(r)
    (args.out / "README_table.md").write_text(md + "\n")
    print(md)
    print(f"\nwritten: {args.out / 'benchmark.json'}, {args.out / 'README_table.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
