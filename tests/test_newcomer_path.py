"""The README's path for someone who arrives with outputs to score: install, evaluate a folder of outputs
against a folder of references (``files:``), read the results in pandas. Run as one shell script."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.conftest import REPO, SUBSET

SECTION = "## Evaluate your own outputs"


def _section_script() -> str:
    readme = (REPO / "README.md").read_text()
    assert SECTION in readme, f"README has no {SECTION!r} section"
    body = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", body, flags=re.DOTALL)
    assert blocks, "the section has no shell block"
    return "\n".join(blocks)


def test_readme_newcomer_path_runs_as_one_script(tmp_path: Path):
    """References and outputs as a user would have them (16 kHz WAVs in two folders, same file names); 2 s
    of each utterance: the default metrics are all of them, and their cost grows with the audio."""
    import soxr

    from bench.corpora import DEMO_DIR

    (tmp_path / "references").mkdir()
    (tmp_path / "outputs").mkdir()
    rng = np.random.default_rng(0)
    for utt in SUBSET[:2]:
        x, sr = sf.read(DEMO_DIR / f"{utt}.flac", dtype="float32")
        x = soxr.resample(x[: 2 * sr], sr, 16000)
        sf.write(tmp_path / "references" / f"{utt}.wav", x, 16000)
        y = x + 0.01 * rng.standard_normal(len(x)).astype(np.float32)
        sf.write(tmp_path / "outputs" / f"{utt}.wav", y, 16000)
    script = _section_script()
    install = [ln for ln in script.splitlines() if ln.strip().startswith("pip install")]
    assert install, "the path starts with pip install"
    # the package is installed in this interpreter already: the install line is checked, not rerun
    assert all(re.match(r"pip install (-e )?\.", ln.strip()) for ln in install), install
    runnable = "\n".join(ln for ln in script.splitlines() if not ln.strip().startswith("pip install"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    p = subprocess.run(["bash", "-euo", "pipefail", "-c", runnable], cwd=tmp_path, capture_output=True,
                       text=True, env=env, timeout=600, check=False)
    assert p.returncode == 0, p.stderr[-3000:]
    # the pandas step printed the summary: one row per metric of the files system, with its mean
    assert "files:mine" in p.stdout and "pesq_wb" in p.stdout and "mean" in p.stdout, p.stdout
    assert (tmp_path / "runs" / "mine" / "results.csv").is_file()
