"""A synthetic run folder following docs/run_format.md, for the report tests (no tests here).

Reference: a voiced, speech-like signal (harmonics of a gliding f0 under syllable envelopes, with
unvoiced noise bursts). "Systems": natural (the reference), lowpass (4 kHz zero-phase low-pass),
delayed (1 ms late: phase metrics suffer), noisy (white noise at 12 dB SNR). The failing variant adds a
system whose audio is missing on one utterance (NaN + error rows) and one NaN metric value elsewhere.
Metric values are computed here with plain numpy (SI-SDR, log-spectral distance), never hard-coded.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal
from scipy import stats as st

SR = 48000
SPEAKERS = {"p225": 210.0, "p226": 120.0, "p227": 160.0}


def speech_like(f0: float, seconds: float, seed: int) -> np.ndarray:
    """``[T]`` float32: harmonics of a gliding f0 in syllable envelopes, noise bursts between them."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f = f0 * (1 + 0.08 * np.sin(2 * np.pi * 1.3 * t + seed))
    phase = 2 * np.pi * np.cumsum(f) / SR
    voiced = sum((0.6 / k) * np.sin(k * phase) for k in range(1, 25) if k * f0 < 8000)
    env = np.clip(np.sin(2 * np.pi * 2.2 * t + 0.3 * seed), 0, None) ** 1.5
    noise = rng.standard_normal(t.size) * 0.02 * (env < 0.05)
    x = 0.35 * voiced * env + noise
    return (x / np.max(np.abs(x)) * 0.6).astype(np.float32)


def si_sdr(ref: np.ndarray, est: np.ndarray) -> float:
    ref = ref - ref.mean()
    est = est - est.mean()
    target = (est @ ref) / (ref @ ref) * ref
    noise = est - target
    return min(100.0, float(10 * np.log10((target @ target) / max(noise @ noise, 1e-20))))


def lsd(ref: np.ndarray, est: np.ndarray) -> float:
    _, _, a = signal.stft(ref, SR, nperseg=1024)
    _, _, b = signal.stft(est, SR, nperseg=1024)
    la = np.log10(np.abs(a) ** 2 + 1e-10)
    lb = np.log10(np.abs(b) ** 2 + 1e-10)
    return float(np.mean(np.sqrt(np.mean((la - lb) ** 2, axis=0))))


def lag(ref: np.ndarray, est: np.ndarray, max_lag: int = 480) -> float:
    c = signal.correlate(est, ref, mode="full", method="fft")
    mid = ref.size - 1
    window = c[mid - max_lag: mid + max_lag + 1]
    return float(np.argmax(window) - max_lag)


def _systems(x: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    sos = signal.butter(8, 4000, fs=SR, output="sos")
    rng = np.random.default_rng(100 + seed)
    noise = rng.standard_normal(x.size)
    noise *= np.sqrt((x @ x) / (noise @ noise) / 10 ** (12 / 10))
    d = 48
    return {
        "natural": x.copy(),
        "lowpass": signal.sosfiltfilt(sos, x).astype(np.float32),
        "delayed": np.concatenate([np.zeros(d, np.float32), x[:-d]]),
        "noisy": (x + noise).astype(np.float32),
    }


DESCRIPTIONS = {
    "natural": "Natural speech (the reference itself)",
    "lowpass": "4 kHz zero-phase low-pass (test double)",
    "delayed": "The reference 1 ms late (test double)",
    "noisy": "White noise at 12 dB SNR (test double)",
    "broken_sys": "Fails on one utterance (test double)",
    "anchor35": "MUSHRA low anchor (test double: 3.5 kHz zero-phase low-pass)",
    "anchor70": "MUSHRA mid anchor (test double: 7 kHz zero-phase low-pass)",
}
GENDERS = {"p225": "female", "p226": "male", "p227": "male"}
KBPS = {"lowpass": 16.0, "noisy": 24.0, "broken_sys": 8.0}


def make_run(root: Path, *, failing: bool = False, seconds: float = 1.0, seed_offset: int = 0,
             anchors: bool = False) -> Path:
    """Write a complete run folder at ``root`` and return it (with ``anchors``: anchor35 and anchor70 too;
    utterances then have transcripts)."""
    root.mkdir(parents=True, exist_ok=True)
    systems = [s for s in DESCRIPTIONS if (failing or s != "broken_sys") and (anchors or not s.startswith("anchor"))]
    items, rows = [], []
    failures = []
    for si, (spk, f0) in enumerate(SPEAKERS.items()):
        for k in range(2):
            utt = f"{spk}/{spk}_{k + 1:03d}"
            seed = 10 * si + k + seed_offset
            x = speech_like(f0, seconds, seed)
            ref_path = root / "reference" / f"{utt}.wav"
            ref_path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(ref_path, x, SR, subtype="FLOAT")
            items.append({"id": utt, "speaker": spk, "gender": GENDERS[spk], "path": f"{utt}.wav", "sha256": "0" * 64,
                          "sample_rate": SR, "duration": x.size / SR, "channels": 1, "resampled_from": None,
                          "text": f"Sentence {k + 1} of speaker {spk}." if anchors else ""})
            outputs = _systems(x, seed)
            if anchors:
                for name, cut in (("anchor35", 3500), ("anchor70", 7000)):
                    outputs[name] = signal.sosfiltfilt(signal.butter(8, cut, fs=SR, output="sos"), x).astype(np.float32)
            if failing:
                outputs["broken_sys"] = signal.sosfilt(signal.butter(2, 2000, fs=SR, output="sos"), x).astype(np.float32)
            for name in systems:
                y = outputs[name]
                broken_here = failing and name == "broken_sys" and utt == "p226/p226_002"
                sys_dir = root / "audio" / name
                if not broken_here:
                    (sys_dir / f"{utt}.wav").parent.mkdir(parents=True, exist_ok=True)
                    sf.write(sys_dir / f"{utt}.wav", y, SR, subtype="FLOAT")
                    bits = KBPS[name] * 1000 * x.size / SR if name in KBPS else None
                    (sys_dir / f"{utt}.json").write_text(json.dumps({"bits": bits, "seconds": x.size / SR, "info": {}}))
                vals: dict[str, tuple[float, str]] = {}
                if broken_here:
                    err = f"audio/{name}/{utt}.wav: decoder crashed (synthetic failure)"
                    vals = {m: (math.nan, err) for m in ("si_sdr", "lsd", "lag_samples")}
                else:
                    vals = {"si_sdr": (si_sdr(x, y), ""), "lsd": (lsd(x, y), ""), "lag_samples": (lag(x, y), "")}
                    if failing and name == "noisy" and utt == "p225/p225_001":
                        vals["lsd"] = (math.nan, "lsd: synthetic failure (reference too short)")
                    meta = json.loads((sys_dir / f"{utt}.json").read_text())
                    if meta["bits"] is None:  # as the runner does: not applicable, not a failure
                        vals["bitrate_kbps"] = (math.nan, f"n/a: {name} spends no bits")
                    else:
                        vals["bitrate_kbps"] = (meta["bits"] / meta["seconds"] / 1000, "")
                for metric, (value, err) in vals.items():
                    rows.append({"utterance": utt, "speaker": spk, "system": name, "metric": metric,
                                 "value": value, "error": err})
                    if err and not err.startswith("n/a"):
                        failures.append({"utterance": utt, "system": name, "metric": metric, "error": err})
    with (root / "results.jsonl").open("w") as fh:
        for r in rows:
            fh.write(json.dumps({**r, "value": None if math.isnan(r["value"]) else r["value"]}) + "\n")
    with (root / "results.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, ["utterance", "speaker", "system", "metric", "value", "error"])
        w.writeheader()
        for r in rows:
            w.writerow({**r, "value": "nan" if math.isnan(r["value"]) else repr(r["value"])})
    write_summary_csv(root, rows)
    run = {
        "format_version": 1, "package": {"name": "codec-bench", "version": "0.1.0"},
        "created": "2026-11-23T22:00:00+00:00", "finished": "2026-11-23T22:01:00+00:00",
        "status": "complete", "command": ["bench", "run", "--systems", ",".join(systems)], "git_revision": None,
        "machine": {"hostname": "test", "platform": "linux", "python": "3.11", "cpu_count": 2},
        "versions": {"numpy": np.__version__},
        "config": {"systems": systems, "metrics": ["si_sdr", "lsd"], "data": "synthetic", "align": True,
                   "max_lag_ms": 10, "seed": 0, "settings": {}, "limit": None},
        "corpus": {"spec": "synthetic", "n": len(items), "manifest_sha256": "0" * 64, "items": items},
        "systems": {s: {"description": DESCRIPTIONS[s], "nominal_kbps": KBPS.get(s), "audio_dir": f"audio/{s}",
                        "deterministic": True, "provenance": {}} for s in systems},
        "metrics": {
            "si_sdr": {"higher_is_better": True, "sample_rate": SR, "unit": "dB", "library": "", "version": "1",
                       "description": "scale-invariant SDR, capped at 100 dB", "settings": {"zero_mean": True}},
            "lsd": {"higher_is_better": False, "sample_rate": SR, "unit": "", "library": "", "version": "1",
                    "description": "log-spectral distance", "settings": {"n_fft": 1024}},
        },
        "failures": failures,
    }
    (root / "run.json").write_text(json.dumps(run, indent=1))
    return root


def recompute(values: list[float]) -> tuple[int, int, float, float]:
    """(n, n_failed, mean, CI half-width) with numpy/scipy directly (independent of reports.stats)."""
    v = np.asarray(values, dtype=float)
    f = v[np.isfinite(v)]
    if f.size == 0:
        return 0, int(v.size), math.nan, math.nan
    half = st.t.ppf(0.975, f.size - 1) * f.std(ddof=1) / math.sqrt(f.size) if f.size > 1 else math.nan
    return int(f.size), int(v.size - f.size), float(f.mean()), float(half)


def write_summary_csv(root: Path, rows: list[dict]) -> None:
    groups: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        groups.setdefault((r["system"], r["metric"]), [])
        if not r["error"].startswith("n/a"):
            groups[(r["system"], r["metric"])].append(r["value"])
    with (root / "summary.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["system", "metric", "n", "n_failed", "mean", "std", "ci95_low", "ci95_high", "higher_is_better"])
        for (s, m), vals in groups.items():
            n, nf, mean, half = recompute(vals)
            f = np.asarray(vals, float)
            f = f[np.isfinite(f)]
            std = float(f.std(ddof=1)) if f.size > 1 else math.nan
            hib = {"si_sdr": "true", "lsd": "false"}.get(m, "")
            w.writerow([s, m, n, nf, mean, std, mean - half, mean + half, hib])


def read_results(root: Path) -> list[dict]:
    """results.csv rows with float values, leaving out not-applicable rows (error ``n/a: ...``)."""
    with (root / "results.csv").open(newline="") as fh:
        return [{**r, "value": float(r["value"]) if r["value"] else math.nan} for r in csv.DictReader(fh)
                if not r["error"].startswith("n/a")]
