"""``--executor ray``: a ``bench run`` killed with SIGKILL takes every process of its private Ray instance
with it within seconds, the DashboardAgent and RuntimeEnvAgent included (Ray alone leaves them a minute)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import REPO

DRIVER = """
import sys, time
from bench.ray_executor import RayExecutor
RayExecutor(workers=1)
print("ready", flush=True)
time.sleep(300)
"""


def _descendants(root: int) -> dict[int, str]:
    """pid -> command line of every process below ``root``."""
    kids: dict[int, list[int]] = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                kids.setdefault(int((p / "stat").read_text().rsplit(")", 1)[1].split()[1]), []).append(int(p.name))
            except (OSError, IndexError, ValueError):
                continue
    out, stack = {}, [root]
    while stack:
        for k in kids.get(stack.pop(), []):
            try:
                out[k] = (Path(f"/proc/{k}/cmdline").read_bytes().replace(b"\0", b" ")).decode(errors="replace")
            except OSError:
                continue
            stack.append(k)
    return out


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_of_the_driver_ends_the_ray_agents_within_seconds(tmp_path):
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (pip install 'codec-bench[ray]')")
    ray_tmp = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # short: Ray's socket paths live below it
    env = {**os.environ, "RAY_TMPDIR": str(ray_tmp), "PYTHONPATH": str(REPO)}
    driver = subprocess.Popen([sys.executable, "-c", DRIVER], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, env=env, cwd=REPO, start_new_session=True)
    ray_procs: dict[int, str] = {}
    try:
        assert driver.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ray_procs = {p: c for p, c in _descendants(driver.pid).items() if "ray" in c.lower()}
            if sum("Agent" in c for c in ray_procs.values()) >= 2:
                break
            time.sleep(0.5)
        agents = [p for p, c in ray_procs.items() if "DashboardAgent" in c or "RuntimeEnvAgent" in c]
        assert len(agents) == 2, ray_procs
        os.kill(driver.pid, signal.SIGKILL)  # kill -9 of bench run itself (a whole group would take Ray along)
        driver.wait()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 20 and any(_running(p) for p in ray_procs):
            time.sleep(0.2)
        assert not [c[:60] for p, c in ray_procs.items() if _running(p)], "Ray processes outlived the run by 20 s"
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        for p in ray_procs:  # only the processes this test started
            if _running(p):
                os.kill(p, signal.SIGKILL)
        shutil.rmtree(ray_tmp, ignore_errors=True)
