"""Peak memory of ``bench run`` on one long file (``make bench`` runs it; also usable alone).

Writes a speech-like file of ``--minutes`` (the demo corpus' male voice, sentences with 0.5 s pauses, repeated),
runs ``bench run --systems opus --metrics all --workers 1`` on it, and samples every process of the run every
0.2 s: the peak resident set (``VmHWM`` from /proc) of each metric worker and of the main process. Prints a
JSON line with the figures and each metric's value or reason (long inputs are refused by PESQ and ViSQOL).
Linux only (reads /proc).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]


def speech_file(path: Path, seconds: int) -> None:
    """A 48 kHz speech-like file of ``seconds``: demo sentences with 0.5 s pauses, repeated."""
    from bench.corpora import DEMO_DIR

    speech = [sf.read(str(DEMO_DIR / f"demo_m_00{i}.flac"), dtype="float32")[0] for i in range(1, 5)]
    clip = np.concatenate([x for s in speech for x in (s, np.zeros(24000, np.float32))])
    reps = int(np.ceil(seconds * 48000 / len(clip)))
    sf.write(str(path), np.tile(clip, reps)[: seconds * 48000], 48000, subtype="PCM_16")


def _children(pid: int) -> list[int]:
    try:
        return [int(k) for k in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def measure(minutes: float, work: Path) -> dict[str, Any]:
    """Run the long file through every metric; peak memory per process in MB."""
    data = work / "data"
    data.mkdir(parents=True, exist_ok=True)
    seconds = int(minutes * 60)
    speech_file(data / "long.wav", seconds)
    out = work / "run"
    cmd = [sys.executable, "-m", "bench", "run", "--systems", "opus", "--data", f"folder:{data}", "--metrics", "all",
           "--workers", "1", "--out", str(out), "--no-report", "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    main_peak, workers = 0.0, {}
    while proc.poll() is None:
        main_peak = max(main_peak, _hwm_mb(proc.pid) or 0.0)
        for child in _children(proc.pid):
            hwm = _hwm_mb(child)
            if hwm is not None:
                workers[child] = max(workers.get(child, 0.0), hwm)
        time.sleep(0.2)
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"bench run failed (exit {proc.returncode}): {err.strip()[-500:]}")
    with open(out / "results.csv", newline="") as f:
        rows = {r["metric"]: (r["value"] if r["value"] != "nan" else r["error"]) for r in csv.DictReader(f)}
    return {"minutes": minutes, "seconds_wall": round(time.perf_counter() - t0, 1),
            "worker_peak_mb": round(max(workers.values(), default=0.0)), "workers_seen": len(workers),
            "main_peak_mb": round(main_peak), "results": rows}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10.0, help="length of the file (default 10)")
    args = p.parse_args(argv)
    if not sys.platform.startswith("linux"):
        print(json.dumps({"status": "not available", "reason": "reads /proc (Linux only)"}))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        result = measure(args.minutes, Path(tmp))
    print(f"{args.minutes:g}-minute file, every metric, 1 worker: worker peak {result['worker_peak_mb']} MB, "
          f"main process peak {result['main_peak_mb']} MB ({result['seconds_wall']} s)")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
