"""scripts/gpu_check.sh on a machine without CUDA: it says so and exits 2 (this machine has no GPU)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_check.sh"


def test_gpu_check_without_cuda_says_so_and_exits_2():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: run scripts/gpu_check.sh itself")
    env = {**os.environ, "PYTHON": sys.executable, "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "no CUDA device" in proc.stderr and "nothing checked" in proc.stderr
    assert "PASS" not in proc.stdout and "FAIL" not in proc.stdout


def test_gpu_check_covers_every_cuda_path():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import gpu_check
    finally:
        sys.path.remove(str(SCRIPT.parent))
    names = " | ".join(name for name, _ in gpu_check.CHECKS)
    for path in ("AudioDec inference", "--amp", "streaming", "AudioDec training", "SPF training OUVE",
                 "SPF training SB", "SPF sampling", "bench run --device cuda", "--executor ray", "reproduce"):
        assert path in names, path
