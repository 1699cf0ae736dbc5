#!/usr/bin/env python3
"""Run every CUDA path of the suite once with small inputs; one line per path (pass/fail, time), a summary.

    scripts/gpu_check.sh            # (this file, through the venv's python)

Exit status: 0 all paths passed, 1 some failed, 2 no CUDA device here (nothing is checked).
Where outputs are deterministic, CUDA is compared with the CPU; tolerances (stated per check) allow for
cuDNN/TF32 arithmetic, never for a different algorithm. Training data are synthetic tones written to a
temporary folder (the demo corpus stays out of all training); everything is written under that folder.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

DEVICE = "cuda"


def _snr_db(ref: np.ndarray, est: np.ndarray) -> float:
    noise = float(np.sum((ref - est) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(float(np.sum(ref**2)) / noise)


def _demo_audio(n: int = 4) -> tuple[list[str], list[np.ndarray]]:
    from bench.audio import read_mono
    from bench.corpora import open_corpus

    utts = open_corpus("demo").utterances()[:n]
    return [u.id for u in utts], [read_mono(u.path, 48000) for u in utts]


def _synthetic_speechlike(folder: Path, n: int = 4, seconds: float = 2.0) -> Path:
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * 48000)) / 48000
    for i in range(n):
        f0 = 110 + 30 * i
        tone = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 20))
        env = np.sin(2 * np.pi * 2.5 * t) ** 2
        sf.write(folder / f"tone_{i}.wav", (0.1 * tone * env + 0.003 * rng.standard_normal(len(t))).astype(np.float32),
                 48000)
    return folder


def check_audiodec_batched(work: Path) -> str:
    """symad batched on CUDA (fp32) vs CPU: max |diff| <= 1e-3; with --amp vs CUDA fp32: SNR >= 20 dB."""
    from systems import RunSettings, build_system

    ids, audio = _demo_audio()
    cpu = build_system("symad", RunSettings(device="cpu")).process_batch(audio, utterance_ids=ids)
    gpu = build_system("symad", RunSettings(device=DEVICE)).process_batch(audio, utterance_ids=ids)
    amp = build_system("symad", RunSettings(device=DEVICE, amp=True)).process_batch(audio, utterance_ids=ids)
    diff = max(float(np.max(np.abs(c.audio - g.audio))) for c, g in zip(cpu, gpu))
    snr = min(_snr_db(g.audio, a.audio) for g, a in zip(gpu, amp))
    assert diff <= 1e-3, f"CPU vs CUDA max |diff| {diff:.2e} > 1e-3"
    assert snr >= 20, f"AMP vs fp32 SNR {snr:.1f} dB < 20 dB"
    return f"CPU/CUDA max|diff| {diff:.1e}, AMP SNR {snr:.0f} dB"


def check_audiodec_streaming(work: Path) -> str:
    """symad streaming on CUDA vs CPU streaming: max |diff| <= 1e-3."""
    from systems import RunSettings, build_system

    ids, audio = _demo_audio(2)
    diffs = []
    for uid, x in zip(ids, audio):
        c = build_system("symad", RunSettings(device="cpu", streaming=True)).process(x, utterance_id=uid)
        g = build_system("symad", RunSettings(device=DEVICE, streaming=True)).process(x, utterance_id=uid)
        diffs.append(float(np.max(np.abs(c.audio - g.audio))))
    assert max(diffs) <= 1e-3, f"CPU vs CUDA streaming max |diff| {max(diffs):.2e} > 1e-3"
    return f"max|diff| {max(diffs):.1e}"


def _bench(*args: str) -> None:
    from bench.cli import main

    code = main(list(args))
    assert code == 0, f"bench {' '.join(args)} exited {code}"


def check_audiodec_training(work: Path) -> str:
    """3 steps of each AudioDec stage on CUDA (fp32: AudioDec training has no mixed-precision path)."""
    cfg_dir = Path(__file__).resolve().parents[1] / "systems" / "audiodec" / "configs"
    data = _synthetic_speechlike(work / "tones")
    s1, s2, voc = work / "ad_stage1", work / "ad_stage2", work / "ad_vocoder"
    _bench("train", "autoencoder", "--config", str(cfg_dir / "symAD_c16_tiny.yaml"), "--data", str(data),
           "--out", str(s1), "--steps", "3", "--device", DEVICE, "--no-progress")
    ckpt = s1 / "checkpoint-3steps.pkl"
    assert ckpt.is_file(), f"{ckpt} missing"
    _bench("train", "autoencoder-gan", "--config", str(s1 / "config.yml"), "--init", str(ckpt), "--data", str(data),
           "--out", str(s2), "--steps", "2", "--device", DEVICE, "--no-progress")
    _bench("train", "vocoder", "--config", str(cfg_dir / "AudioDec_v1_c16_tiny.yaml"), "--analyzer", str(ckpt),
           "--data", str(data), "--out", str(voc), "--steps", "2", "--device", DEVICE, "--no-progress")
    return "stage 1, stage 2 (GAN) and vocoder: 3 + 2 + 2 steps"


def _spf_training(sde: str) -> str:
    from systems.spf.config import preset, with_sde
    from systems.spf.data import Pair
    from systems.spf.train import Trainer

    cfg = with_sde(preset("demo"), sde)
    tones = [np.sin(2 * np.pi * (150 + 20 * i) * np.arange(48000) / 48000).astype(np.float32) * 0.2 for i in range(2)]
    pairs = [Pair(t, t + 0.01 * np.random.default_rng(i).standard_normal(len(t)).astype(np.float32), "tone", str(i))
             for i, t in enumerate(tones)]
    trainer = Trainer(cfg, device=DEVICE, amp=True)
    losses = [trainer.train_step(pairs) for _ in range(5)]
    assert all(np.isfinite(losses)), f"non-finite loss {losses}"
    return f"5 AMP steps, loss {losses[0]:.3f} -> {losses[-1]:.3f}"


def check_spf_training_ouve(work: Path) -> str:
    """5 mixed-precision training steps of the OUVE post-filter: finite losses."""
    return _spf_training("ouve")


def check_spf_training_sbve(work: Path) -> str:
    """5 mixed-precision training steps of the Schroedinger-bridge post-filter: finite losses."""
    return _spf_training("sbve")


def check_spf_sampling(work: Path) -> str:
    """Full-size NCSN++ on 4 s: PC (N=2), ODE (4 steps), SB ODE and SDE (4 steps) on CUDA, timed per network
    evaluation; one ODE step on CUDA vs CPU with the same noise: relative error <= 1e-2 (TF32 convolutions)."""
    import torch

    from systems.spf.config import preset, with_sde
    from systems.spf.model import ScoreModel
    from systems.spf.sampling import SamplerSettings, generator_noise, run_sampler

    wave = torch.from_numpy(_demo_audio(1)[1][0][: 4 * 48000].copy()).float().unsqueeze(0)
    timings = []
    for sde, runs in (("ouve", (("pc", 2), ("ode", 4))), ("sbve", (("ode", 4), ("sde", 4)))):
        torch.manual_seed(0)
        model = ScoreModel(with_sde(preset("full"), sde)).eval()
        for device in ("cpu", DEVICE) if sde == "ouve" else (DEVICE,):
            model = model.to(device)
            y, _ = model.stft.pad_frames(model.stft.forward(wave.to(device) / wave.abs().max()))
            for name, steps in runs if device == DEVICE else (("ode", 1),):
                settings = SamplerSettings(name, steps, 0.5, sde)
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                x, nfe = run_sampler(settings, model, model.sde, y, generator_noise([torch.Generator().manual_seed(0)]))
                torch.cuda.synchronize()
                if device == DEVICE:
                    timings.append(f"{sde}/{name} {(time.perf_counter() - t0) / nfe:.3f} s/NFE")
                    assert nfe == settings.expected_nfe() and torch.isfinite(x.real).all()
            if sde == "ouve" and device == "cpu":
                ref = x
        if sde == "ouve":
            y, _ = model.stft.pad_frames(model.stft.forward(wave.to(DEVICE) / wave.abs().max()))
            x, _ = run_sampler(SamplerSettings("ode", 1, 0.5), model, model.sde, y,
                               generator_noise([torch.Generator().manual_seed(0)]))
            rel = float((x.cpu() - ref).abs().norm() / ref.abs().norm())
            assert rel <= 1e-2, f"ODE step CPU vs CUDA relative error {rel:.2e} > 1e-2"
            timings.append(f"CPU/CUDA rel. err {rel:.1e}")
    return "; ".join(timings)


def check_bench_run(work: Path) -> str:
    """bench run --device cuda with the neural systems on 2 demo utterances."""
    _bench("run", "--systems", "symad,audiodec_stage1,scoredec,opus_spf", "--data", "demo", "--limit", "2",
           "--metrics", "si_sdr", "--device", DEVICE, "--out", str(work / "run_local"), "--quiet", "--no-report")
    return "4 neural systems x 2 utterances"


def check_bench_run_ray(work: Path) -> str:
    """bench run --device cuda --executor ray."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise AssertionError("ray is not installed (pip install -e .[dev])") from None
    _bench("run", "--systems", "symad,scoredec", "--data", "demo", "--limit", "2", "--metrics", "si_sdr",
           "--device", DEVICE, "--executor", "ray", "--workers", "2", "--out", str(work / "run_ray"), "--quiet",
           "--no-report")
    return "2 neural systems x 2 utterances through Ray"


def check_reproduce(work: Path) -> str:
    """bench reproduce scoredec for a few steps (demo preset, 2 NFE) on CUDA."""
    data = _synthetic_speechlike(work / "tones_repro", n=2)
    _bench("reproduce", "scoredec", "--train-data", f"folder:{data}", "--eval-data", "demo", "--limit", "1",
           "--preset", "demo", "--steps", "3", "--spf-steps", "1", "--metrics", "si_sdr", "--device", DEVICE,
           "--out", str(work / "reproduce"))
    return "estimate, train 3 steps, evaluate 1 utterance"


#: every CUDA path, in order
CHECKS: list[tuple[str, Callable[[Path], str]]] = [
    ("AudioDec inference, batched, fp32 and --amp", check_audiodec_batched),
    ("AudioDec streaming", check_audiodec_streaming),
    ("AudioDec training, 3 stages", check_audiodec_training),
    ("SPF training OUVE, mixed precision", check_spf_training_ouve),
    ("SPF training SB, mixed precision", check_spf_training_sbve),
    ("SPF sampling, full-size NCSN++, 4 s", check_spf_sampling),
    ("bench run --device cuda", check_bench_run),
    ("bench run --device cuda --executor ray", check_bench_run_ray),
    ("bench reproduce scoredec (a few steps)", check_reproduce),
]


def main() -> int:
    try:
        import torch
    except ImportError:
        print("gpu_check: torch is not installed; nothing checked", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print(f"gpu_check: no CUDA device here (torch {torch.__version__}, CUDA build {torch.version.cuda}); "
              "nothing checked", file=sys.stderr)
        return 2
    print(f"gpu_check on {torch.cuda.get_device_name(0)} (torch {torch.__version__}, CUDA {torch.version.cuda})")
    work = Path(tempfile.mkdtemp(prefix="gpu_check_"))
    results = []
    t_all = time.perf_counter()
    try:
        for name, fn in CHECKS:
            t0 = time.perf_counter()
            try:
                detail, ok = fn(work), True
            except Exception as exc:  # noqa: BLE001 - one failing path must not hide the others
                detail, ok = f"{exc.__class__.__name__}: {exc}", False
                traceback.print_exc(file=sys.stderr)
            secs = time.perf_counter() - t0
            results.append(ok)
            print(f"{'PASS' if ok else 'FAIL'}  {name:<46} {secs:7.1f} s  {detail}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"summary: {sum(results)}/{len(results)} passed in {time.perf_counter() - t_all:.0f} s")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
