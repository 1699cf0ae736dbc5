"""Shared fixtures: a small real run on the demo corpus (real libopus, real PESQ), reused by many tests."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import csd

REPO = Path(__file__).resolve().parents[1]

if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest-xdist workers share the cores: each keeps its numeric libraries (torch, OpenBLAS, OpenMP) to one
    # thread, as `bench run` does for its own workers; more threads than cores only spin
    from bench.executors import one_thread_per_process

    one_thread_per_process()

#: seconds each test file took (``scripts/test_costs.py`` refreshes it): the heaviest go to the workers first
FILE_COSTS: dict[str, float] = json.loads((REPO / "tests" / "file_costs.json").read_text())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Heaviest test files first (each file's tests in their own order): with ``--dist loadfile
    --no-loadscope-reorder`` the workers take files in this order, so the run ends on short files instead of
    one worker finishing a long file while the other idles. Files not in the table go last."""
    items.sort(key=lambda item: -FILE_COSTS.get(item.nodeid.split("::", 1)[0], 0.0))
FAST_METRICS = ["pesq_wb", "stoi", "si_sdr", "phase_distance", "lsd"]
#: two utterances per voice keep the shared run fast
SUBSET = ["demo_f_001", "demo_f_002", "demo_m_001", "demo_m_002"]


@pytest.fixture(scope="session", autouse=True)
def offline_download_cache(tmp_path_factory: pytest.TempPathFactory):
    """Nothing under test downloads from the internet: offline, with an empty cache of its own (tests that
    exercise downloads serve files from 127.0.0.1 and set these variables themselves)."""
    saved = {k: os.environ.get(k) for k in ("CODEC_BENCH_OFFLINE", "CODEC_BENCH_CACHE", "CODEC_BENCH_MIRROR")}
    os.environ["CODEC_BENCH_OFFLINE"] = "1"
    os.environ["CODEC_BENCH_CACHE"] = str(tmp_path_factory.mktemp("download-cache"))
    os.environ.pop("CODEC_BENCH_MIRROR", None)
    yield
    for k, v in saved.items():
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def bench_cmd(*args: str) -> list[str]:
    """The CLI as a subprocess of this interpreter (works without the console script on PATH)."""
    return [sys.executable, "-m", "bench", *args]


def run_bench(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(bench_cmd(*args), capture_output=True, text=True, timeout=timeout, cwd=REPO, check=False)


def run_bench_saved(log: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """:func:`run_bench` for a shared build: asserts exit status 0 and keeps stdout and stderr in
    ``log.stdout`` and ``log.stderr`` (``log`` a path without suffix), for :func:`saved_bench` to read back."""
    r = run_bench(*args, timeout=timeout)
    assert r.returncode == 0, r.stderr
    log.parent.mkdir(parents=True, exist_ok=True)
    log.with_suffix(".stdout").write_text(r.stdout)
    log.with_suffix(".stderr").write_text(r.stderr)
    return r


def saved_bench(log: Path) -> subprocess.CompletedProcess:
    """What :func:`run_bench_saved` kept at ``log``, in any process of the test session."""
    return subprocess.CompletedProcess(["bench"], 0, log.with_suffix(".stdout").read_text(),
                                       log.with_suffix(".stderr").read_text())


def install_plugin(site: Path, module: str, source: str, entry_points: str) -> dict[str, str]:
    """Make ``module`` (its ``source``) an installed distribution in ``site`` with ``entry_points`` (the text of
    entry_points.txt: ``[codec_bench.systems]`` ...), like a real plugin package; returns the environment that
    sees it (``PYTHONPATH`` = site, then the repository)."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(source)
    dist = site / f"{module}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(entry_points)
    return {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{REPO}"}


def tone_folder(folder: Path, n: int = 2) -> Path:
    """``n`` 0.2 s 48 kHz sine files ``u0.wav``... (200, 300, ... Hz) in a new ``folder``: a tiny training corpus."""
    folder.mkdir(parents=True)
    t = np.arange(9600) / 48000
    for i in range(n):
        sf.write(folder / f"u{i}.wav", 0.3 * np.sin(2 * np.pi * (200 + 100 * i) * t), 48000)
    return folder


#: the Debian chromium every browser test drives through Playwright, and its flags
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium (Playwright), one per test module; skips when either is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} missing (install the Debian package chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) not installed: pip install playwright")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def values(rows: list[dict[str, str]], system: str, metric: str) -> list[float]:
    return [float(r["value"]) for r in rows if r["system"] == system and r["metric"] == metric]


def need_libopus() -> None:
    from systems.opus import libopus_version

    if libopus_version() is None:
        pytest.skip("libopus is not installed (apt-get install libopus0)")


def need_tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.skip(f"{name} is not installed (make setup installs it when run as root)")
    return path


def demo_clips(folder: Path, n: int = 2, seconds: float = 1.5) -> Path:
    """The first ``seconds`` of the first ``n`` demo utterances, as FLAC files of the same names in a new
    ``folder`` (``--data folder:...``): real speech for tests whose cost grows with the audio."""
    from bench.corpora import DEMO_DIR

    folder.mkdir(parents=True)
    for path in sorted(DEMO_DIR.rglob("*.flac"))[:n]:
        audio, sr = sf.read(path)
        sf.write(folder / path.name, audio[: int(seconds * sr)], sr)
    return folder


def demo_manifest(path: Path, keep: list[str]) -> Path:
    """A manifest with only ``keep`` from the demo corpus (absolute paths)."""
    from bench.corpora import DEMO_DIR

    rows = [r for r in read_rows(DEMO_DIR / "manifest.csv") if r["id"] in keep]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["id", "path", "speaker", "gender"])
        w.writeheader()
        for r in rows:
            w.writerow({"id": r["id"], "path": str(DEMO_DIR / r["path"]), "speaker": r["speaker"],
                        "gender": r["gender"]})
    return path


def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder every process of this test session shares: pytest's base temporary folder, or under
    pytest-xdist the parent of the workers' ones (``pytest-N/``, above ``popen-gw0/``, ``popen-gw1/``...)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def build_once(shared: Path, name: str, build: Callable[[Path], object]) -> Path:
    """``shared/name``, filled by ``build(folder)`` once, whichever process asks first (the others wait on a
    file lock, then reuse it). ``build`` gets a folder that does not exist yet; what it returns is ignored.
    The result is shared: read it, never change it (copy it first). A ``build`` that fails or skips leaves
    nothing behind: the next caller tries again."""
    from filelock import FileLock

    shared.mkdir(parents=True, exist_ok=True)
    folder, done = shared / name, shared / f"{name}.done"
    with FileLock(str(shared / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            try:
                build(folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            done.touch()
    return folder


@pytest.fixture(scope="session")
def shared_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, Callable[[Path], object]], Path]:
    """``shared_run(name, build)``: :func:`build_once` in this test session's shared folder, so that every
    pytest-xdist worker gets the same run, built once; for fixtures of any scope, e.g. a module fixture
    ``def sweep(shared_run): return shared_run("sweep", lambda d: run_bench_saved(d / "log", "run", ...))``."""
    shared = session_dir(tmp_path_factory) / "shared"
    return lambda name, build: build_once(shared, name, build)


@pytest.fixture(scope="session")
def demo_run(shared_run) -> Path:
    """natural, opus and both anchors on 4 demo utterances (2 per voice), fast metrics, 2 workers
    (built once per test session; read-only: copy it to change it)."""
    need_libopus()

    def build(base: Path) -> None:
        from bench.runner import RunConfig, run

        base.mkdir()
        manifest = demo_manifest(base / "manifest.csv", SUBSET)
        run(RunConfig(systems=["natural", "opus", "anchor35", "anchor70"], data=f"manifest:{manifest}",
                      out=base / "run", metrics=FAST_METRICS, workers=2, quiet=True, report=False))

    return shared_run("demo_run", build) / "run"


@pytest.fixture
def torch_one_thread():
    """One torch intra-op thread for the test: tiny ops on a busy 2-core machine run faster than with two."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


#: speech that systems.opus.residual_delay does not measure on (it uses the demo corpus): other voices
#: and sentences, rendered by espeak-ng like the demo corpus
HELD_OUT = (("en-gb", "Frozen raspberries taste wonderful on a humid August afternoon."),
            ("en-us+m3", "Seven brave sailors crossed the choppy bay in a wooden dinghy."),
            ("en-gb+f2", "Would you rather visit Lisbon, Oslo or Montreal next spring?"))


def held_out_voices() -> list[np.ndarray]:
    """The HELD_OUT sentences as ``[T]`` float32 48 kHz, peak 0.5 (skips the test without espeak-ng)."""
    import shutil
    import subprocess

    import soxr

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (scripts/setup_system.sh installs it)")
    out = []
    for voice, text in HELD_OUT:
        wav = subprocess.run(["espeak-ng", "-v", voice, "--stdout", text], capture_output=True, check=True).stdout
        import io

        x, sr = sf.read(io.BytesIO(wav), dtype="float32")
        x = soxr.resample(x, sr, 48000).astype(np.float32)
        out.append((0.5 * x / np.abs(x).max()).astype(np.float32))
    return out


def xcorr_lag(x: np.ndarray, y: np.ndarray, max_lag: int = 16) -> float:
    """Delay of ``y`` behind ``x`` in samples (+ = late): the cross-correlation peak (direct sums), refined by
    parabolic interpolation."""
    x, y, n = x.astype(np.float64), y.astype(np.float64), len(x)
    c = np.array([np.dot(y[max(0, k):n + min(0, k)], x[max(0, -k):n - max(0, k)])
                  for k in range(-max_lag, max_lag + 1)])
    k = int(np.argmax(c))
    a, b, d = c[k - 1], c[k], c[k + 1]
    return k - max_lag + 0.5 * (a - d) / (a - 2 * b + d)


def phase_slope_lag(x: np.ndarray, y: np.ndarray, sample_rate: int = 48000) -> float:
    """Delay of ``y`` behind ``x`` in samples (+ = late) from the slope of the cross-spectrum's phase over
    100 Hz - 3.5 kHz (Welch-averaged, magnitude-weighted least squares through the origin).

    An estimator independent of the cross-correlation peak the Opus adapter uses."""
    f, pxy = csd(x.astype(np.float64), y.astype(np.float64), fs=sample_rate, nperseg=2048)
    band = (f >= 100) & (f <= 3500)
    omega, phase, w = 2 * np.pi * f[band] / sample_rate, np.angle(pxy[band]), np.abs(pxy[band])
    # scipy's csd is conj(X) Y: phase = -omega * delay
    return float(-np.sum(w * omega * phase) / np.sum(w * omega**2))
