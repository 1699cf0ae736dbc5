"""Helpers for tests and demos: a small synthetic run folder, and the real server in a thread."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal
from typing_extensions import Self

from bench.runfolder import CorpusInfo, Manifest, write_manifest
from bench.runfolder.paths import RunDir, system_dir

SR = 48000


def speech_like(seconds: float, seed: int) -> np.ndarray:
    """``[T]`` voiced bursts (harmonics of a gliding f0) separated by pauses: has quiet cut points."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    x = np.zeros(n)
    pos = int(0.1 * SR)
    while pos < n - int(0.2 * SR):
        length = int(rng.uniform(0.25, 0.6) * SR)
        seg = slice(pos, min(n, pos + length))
        f0 = rng.uniform(100, 220) * (1 + 0.1 * np.sin(2 * np.pi * 3 * t[seg]))
        phase = 2 * np.pi * np.cumsum(f0) / SR
        burst = sum(np.sin(k * phase) / k for k in range(1, 30) if k * f0.max() < SR / 2)
        env = np.hanning(seg.stop - seg.start)
        x[seg] += 0.3 * burst * env
        pos = seg.stop + int(rng.uniform(0.08, 0.25) * SR)
    x += 1e-4 * rng.standard_normal(n)
    return x.astype(np.float32)


def lowpass_zero_phase(x: np.ndarray, cutoff_hz: float) -> np.ndarray:
    """A zero-phase elliptic low-pass (forward-backward), for anchor stand-ins in tests."""
    sos = signal.ellip(8, 0.05, 70, cutoff_hz, fs=SR, output="sos")
    return signal.sosfiltfilt(sos, x).astype(np.float32)


def make_run_folder(root: Path, n_utts: int = 6, seconds: float = 2.0, speakers: int = 2,
                    with_anchors: bool = True, extra_systems: int = 0) -> Path:
    """Write a minimal run folder (run.json, reference/, audio/) with two codecs ``noisy`` and ``muffled``
    (and ``extra_systems`` more, ``noise1``..., ever noisier)."""
    run = RunDir(root)
    items = []
    systems = {"natural": lambda x, rng: x,
               "noisy": lambda x, rng: x + 0.01 * rng.standard_normal(len(x)).astype(np.float32),
               "muffled": lambda x, rng: lowpass_zero_phase(x, 4500.0)}
    for k in range(1, extra_systems + 1):
        systems[f"noise{k}"] = lambda x, rng, k=k: x + 0.003 * k * rng.standard_normal(len(x)).astype(np.float32)
    if with_anchors:
        systems["anchor35"] = lambda x, rng: lowpass_zero_phase(x, 3500.0)
        systems["anchor70"] = lambda x, rng: lowpass_zero_phase(x, 7000.0)
    for i in range(n_utts):
        utt = f"p{i % speakers}/utt{i:02d}"
        x = speech_like(seconds + 0.1 * i, seed=i)
        ref = run.reference_wav(utt)
        ref.parent.mkdir(parents=True, exist_ok=True)
        sf.write(ref, x, SR, subtype="FLOAT")
        rng = np.random.default_rng(100 + i)
        for name, fn in systems.items():
            path = run.audio_wav(name, utt)
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, fn(x, rng), SR, subtype="FLOAT")
        items.append({"id": utt, "speaker": f"p{i % speakers}", "duration": len(x) / SR, "sample_rate": SR})
    write_manifest(root, Manifest(status="complete", corpus=CorpusInfo(n=n_utts, items=items),
                                  systems={name: {"audio_dir": f"audio/{system_dir(name)}", "description": name}
                                           for name in systems}))
    return root


#: an answer to every question of the default questionnaire (none of them is optional)
ANSWERS = {"age": "31", "headphones": "closed-back headphones", "expert": "no"}


def fill_answers(page, answers: dict[str, str] = ANSWERS) -> None:
    """Answer the questionnaire (or qualification) page shown in a Playwright ``page``."""
    for name, value in answers.items():
        field = page.locator(f"[name={name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    """Run the real app with uvicorn on 127.0.0.1 and a free port in a daemon thread."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
