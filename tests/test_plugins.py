"""Third-party systems and metrics plug in through entry points, with no change to the suite."""

from __future__ import annotations

import subprocess
import textwrap

from conftest import REPO, bench_cmd, install_plugin, read_rows

PLUGIN = '''
import numpy as np
from metrics.base import Metric, MetricSpec
from systems.base import System, SystemOutput


class Mulaw8(System):
    """8-bit mu-law, a classic codec: 384 kbit/s at 48 kHz."""

    kind = "mulaw8"
    description = "8-bit mu-law (plugin)"
    nominal_kbps = 384.0

    def process(self, audio, *, utterance_id):
        mu = 255.0
        y = np.sign(audio) * np.log1p(mu * np.abs(audio)) / np.log1p(mu)
        q = np.round((y + 1) / 2 * 255) / 255 * 2 - 1
        x = np.sign(q) * np.expm1(np.abs(q) * np.log1p(mu)) / mu
        return SystemOutput(audio=x.astype(np.float32), bits=8.0 * len(audio))


class PeakDiff(Metric):
    spec = MetricSpec("peak_diff", False, 48000, description="max |x - y| (plugin)")

    def compute(self, *, reference, degraded, sample_rate):
        return float(np.max(np.abs(reference - degraded)))
'''


def test_entry_point_plugins(tmp_path):
    env = install_plugin(tmp_path / "site", "myplugin", PLUGIN, textwrap.dedent("""\
        [codec_bench.systems]
        mulaw8 = myplugin:Mulaw8

        [codec_bench.metrics]
        peak_diff = myplugin:PeakDiff
        """))
    out = subprocess.run(bench_cmd("systems"), capture_output=True, text=True, env=env, cwd=REPO, check=False)
    assert "mulaw8" in out.stdout and "8-bit mu-law (plugin)" in out.stdout
    run = tmp_path / "run"
    r = subprocess.run(bench_cmd("run", "--systems", "mulaw8", "--data", "demo", "--limit", "2", "--metrics",
                                 "peak_diff,si_sdr", "--out", str(run), "--no-report", "--workers", "1"),
                       capture_output=True, text=True, env=env, cwd=REPO, check=False)
    assert r.returncode == 0, r.stderr
    rows = read_rows(run / "results.csv")
    si = [float(x["value"]) for x in rows if x["metric"] == "si_sdr"]
    kbps = [float(x["value"]) for x in rows if x["metric"] == "bitrate_kbps"]
    peak = [float(x["value"]) for x in rows if x["metric"] == "peak_diff"]
    assert len(si) == 2 and all(25 < v < 60 for v in si)  # mu-law: audible but faithful
    assert all(abs(k - 384.0) < 1e-6 for k in kbps)
    assert all(0 < p < 0.05 for p in peak)
