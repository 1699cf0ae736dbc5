"""Peak memory does not grow with the corpus: 200 utterances need no more than 20 (within 15% + 8 MB).

Each run is a subprocess whose peak resident memory (its own, and that of its largest worker) comes from
``getrusage``: exact peaks, no polling.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from conftest import REPO

WRAPPER = """
import json, resource, sys
from bench.cli import main
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "main_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "worker_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def _corpus(folder: Path, n: int) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(n)
    t = np.arange(24000) / 48000  # 0.5 s at 48 kHz
    for i in range(n):
        x = 0.3 * np.sin(2 * np.pi * (150 + 7 * i) * t) + 0.03 * rng.standard_normal(t.size)
        sf.write(folder / f"u{i:04d}.wav", x.astype(np.float32), 48000, subtype="PCM_16")
    return folder


def _peak(tmp_path: Path, n: int) -> dict[str, int]:
    data = _corpus(tmp_path / f"c{n}", n)
    out = tmp_path / f"run{n}"
    r = subprocess.run([sys.executable, "-c", WRAPPER, "run", "--systems", "natural", "--data", f"folder:{data}",
                        "--out", str(out), "--metrics", "si_sdr,lsd", "--workers", "2", "--quiet", "--no-report"],
                       capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    stats = json.loads(r.stdout.strip().splitlines()[-1])
    assert stats["rc"] == 0
    assert len((out / "results.jsonl").read_text().splitlines()) == n * 5  # 2 metrics + si_sdr_raw + bitrate + lag
    return stats


def test_peak_memory_does_not_grow_with_the_corpus(tmp_path):
    small, large = _peak(tmp_path, 20), _peak(tmp_path, 200)
    for key in ("main_kb", "worker_kb"):
        assert large[key] <= 1.15 * small[key] + 8 * 1024, (key, small, large)
