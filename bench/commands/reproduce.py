"""``bench reproduce scoredec``: the paper's post-filter trained and its six systems evaluated, in one command.

Stages (each resumes where an interrupted run stopped; rerun the same command):
  1. estimate: a short measurement on the device (coding, training steps, one network evaluation) and the
     time each stage is expected to take;
  2. train: code the training speakers (every VCTK speaker but the test speakers p232 and p257) with the
     stage-1 AudioDec and with Opus 24 kbps, and train one post-filter on both (``bench train spf``: the
     paper's OUVE SDE and full-size NCSN++ with SGMSE+'s training settings, mixed precision on CUDA);
  3. evaluate: ``bench run`` of the paper's six systems on the test speakers with the trained post-filter
     (its PC sampler, N = 30: 60 network evaluations), writing the comparison table, the waveform figure
     and the demo page under OUT/eval/report.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench.errors import UsageError

HELP = "reproduce a paper end to end (train what is not public, evaluate every system)"
DESCRIPTION = __doc__
EPILOG = """examples:
  bench reproduce scoredec --vctk /data/VCTK-Corpus-0.92 --audiodec-exp exp/ --out runs/scoredec --device cuda
  bench reproduce scoredec --train-data demo --eval-data demo --preset tiny --steps 20 --limit 3 --out runs/smoke  # a smoke test
"""

#: the systems of the paper's comparison (ScoreDec, ICASSP 2024)
PAPER_SYSTEMS = ("natural", "opus", "opus_spf", "symad", "audiodec_stage1", "scoredec")
#: the codecs whose outputs the post-filter is trained on
TRAIN_CODECS = ("audiodec_stage1", "opus")
TEST_SPEAKERS = ("p232", "p257")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="paper", metavar="PAPER", required=True)
    s = sub.add_parser("scoredec", help="ScoreDec (Wu et al., ICASSP 2024)", description=__doc__, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("--vctk", type=Path, help="VCTK folder (0.92, 0.80 or Valentini 48 kHz)")
    s.add_argument("--audiodec-exp", type=Path,
                   help="unzipped official AudioDec exp/ folder (default: the shipped demo weights, not the paper's)")
    s.add_argument("--out", required=True, type=Path, help="output folder (rerun the same command to resume)")
    s.add_argument("--device", default=None, help="torch device (default: cuda when available, else cpu)")
    from systems.spf.config import PRESETS

    s.add_argument("--preset", default="full", choices=list(PRESETS),
                   help=f"SPF size: {', '.join(PRESETS)} (default: full, the paper's)")
    s.add_argument("--steps", type=int, default=None,
                   help="training steps (default: the preset's; SGMSE+ trains the full model for ~100k+)")
    s.add_argument("--spf-steps", type=int, default=None,
                   help="PC reverse steps at evaluation (default: the preset's, 30 for full as in the paper: "
                        "60 NFE; 2 for demo and tiny)")
    s.add_argument("--train-data", help="override the training corpus spec (default: vctk:DIR without p232, p257)")
    s.add_argument("--eval-data", help="override the evaluation corpus spec (default: vctk:DIR, test speakers)")
    s.add_argument("--limit", type=int, help="evaluate only N utterances, taken round-robin across speakers")
    s.add_argument("--metrics", default="all", help="metrics of the evaluation (default: all)")
    s.add_argument("--workers", type=int, default=None, help="metric worker processes")
    s.add_argument("--threads", type=int, default=None, help="torch CPU threads for training")


def paper_system_specs(pc_steps: int) -> list[str]:
    """``--systems`` specs of the paper's six systems, the post-filtered ones with the paper's PC sampler
    at ``pc_steps`` reverse steps (``opus+spf[sampler=pc,steps=30]``)."""
    from systems import COMPOSITES

    spf = f"[sampler=pc,steps={pc_steps}]"
    return [COMPOSITES[name] + spf if name in COMPOSITES else name for name in PAPER_SYSTEMS]


def spf_steps(args: argparse.Namespace) -> int:
    """``--spf-steps``, else the PC steps the preset recommends."""
    from systems.spf.config import preset

    return args.spf_steps if args.spf_steps is not None else int(preset(args.preset).sampler.steps)


def _seconds(text: float) -> str:
    if text < 120:
        return f"{text:.0f} s"
    return f"{text / 60:.0f} min" if text < 7200 else f"{text / 3600:.1f} h"


def estimate(args: argparse.Namespace, device: str, train_spec: str, eval_spec: str) -> dict[str, float]:
    """Measure a little on ``device`` and return the expected seconds of each stage."""
    import numpy as np
    import torch

    from bench.audio import read_mono, resample
    from bench.corpora import CorpusOptions, limit_utterances, open_corpus
    from systems import RunSettings, build_system
    from systems.spf.config import preset
    from systems.spf.model import ScoreModel
    from systems.spf.train import Trainer

    train = open_corpus(train_spec, CorpusOptions(split="all") if train_spec.startswith("vctk:") else None)
    train_utts = [u for u in train.utterances() if u.speaker not in TEST_SPEAKERS]
    evals = limit_utterances(open_corpus(eval_spec).utterances(), args.limit)
    train_seconds = float(np.nansum([u.duration for u in train_utts]))
    eval_seconds = float(np.nansum([u.duration for u in evals]))
    sample = read_mono(train_utts[0].path, 48000)
    options = RunSettings(device=device, weights_dir=args.audiodec_exp)
    coding = 0.0
    for codec in TRAIN_CODECS:
        system = build_system(codec, options)
        x = resample(sample, 48000, system.sample_rate)  # at the rate the codec works at
        t0 = time.perf_counter()
        system.process(x, utterance_id=train_utts[0].id)
        coding += (time.perf_counter() - t0) / (len(sample) / 48000)  # seconds per second of audio
    cfg = preset(args.preset)
    trainer = Trainer(cfg, device=device, amp=device.startswith("cuda"))
    from systems.spf.data import Pair

    n = max(len(sample), (cfg.train.crop_frames + 1) * cfg.stft.hop)
    pair = [Pair(np.resize(sample, n), np.resize(sample, n), "probe", "probe")]
    trainer.train_step(pair)  # warm-up
    t0 = time.perf_counter()
    for _ in range(2):
        trainer.train_step(pair)
    per_step = (time.perf_counter() - t0) / 2
    model = ScoreModel(cfg).to(device).eval()
    from systems.spf.inference import chunk_samples

    chunk = chunk_samples(cfg) / cfg.sample_rate  # seconds the post-filter takes at once
    y = model.stft.forward(torch.zeros(1, int(chunk * cfg.sample_rate), device=device) + 1e-3)
    y, _ = model.stft.pad_frames(y)
    t = torch.full((1,), 0.5, device=device)
    with torch.no_grad():
        model(y, y, t)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        model(y, y, t)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
    per_nfe = time.perf_counter() - t0
    steps = args.steps if args.steps is not None else cfg.train.steps
    nfe = 2 * spf_steps(args)
    return {
        "code training speech": coding * train_seconds,
        "train the post-filter": per_step * steps,
        "evaluate the six systems": (per_nfe * nfe * eval_seconds / chunk * 2 + coding * eval_seconds),
        f"seconds per network evaluation ({chunk:.3g} s)": per_nfe,
    }


def main(args: argparse.Namespace) -> int:
    import torch

    from bench.cli import main as bench_main

    if args.vctk is None and not (args.train_data and args.eval_data):
        raise UsageError("give --vctk DIR (or both --train-data and --eval-data)")
    if args.vctk is not None and not args.vctk.is_dir():
        raise UsageError(f"--vctk {args.vctk}: not a folder")
    if args.audiodec_exp is not None and not args.audiodec_exp.is_dir():
        raise UsageError(f"--audiodec-exp {args.audiodec_exp}: not a folder")
    if args.audiodec_exp is None:
        print("note: no --audiodec-exp: the shipped toy AudioDec weights stand in for the official ones; "
              "the AudioDec rows will not be the paper's", file=sys.stderr)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    train_spec = args.train_data or f"vctk:{args.vctk}"
    eval_spec = args.eval_data or f"vctk:{args.vctk}"
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    t_all = time.perf_counter()
    expected = estimate(args, device, train_spec, eval_spec)
    print(f"expected on {device} (from a short measurement now; an estimate):")
    for stage, secs in expected.items():
        print(f"  {stage:<38} {secs:.3f} s" if "per network" in stage else f"  {stage:<38} {_seconds(secs)}")
    (out / "estimate.json").write_text(json.dumps({"device": device, **expected}, indent=2))

    spf_dir = out / "spf"
    train = ["train", "spf", "--codec", ",".join(TRAIN_CODECS), "--data", train_spec, "--out", str(spf_dir),
             "--preset", args.preset, "--device", device, "--exclude-speakers", ",".join(TEST_SPEAKERS)]
    if args.steps is not None:
        train += ["--steps", str(args.steps)]
    if args.threads is not None:
        train += ["--threads", str(args.threads)]
    if args.audiodec_exp is not None:
        train += ["--weights", str(args.audiodec_exp)]
    if device.startswith("cuda"):
        train.append("--amp")
    done = (spf_dir / "spf.pt").is_file() and (spf_dir / "last.pt").is_file()
    if (spf_dir / "last.pt").is_file():
        train.append("--resume")
    t0 = time.perf_counter()
    print(f"[train] bench {' '.join(train)}")
    code = bench_main(train)
    if code:
        return code
    print(f"[train] {'already complete, ' if done else ''}{time.perf_counter() - t0:.0f} s")

    run = ["run", "--systems", ",".join(paper_system_specs(spf_steps(args))), "--data", eval_spec,
           "--out", str(out / "eval"), "--device", device, "--checkpoint", f"spf={spf_dir / 'spf.pt'}",
           "--metrics", args.metrics]
    if args.audiodec_exp is not None:
        run += ["--weights", str(args.audiodec_exp)]
    if args.limit is not None:
        run += ["--limit", str(args.limit)]
    if args.workers is not None:
        run += ["--workers", str(args.workers)]
    t0 = time.perf_counter()
    print(f"[evaluate] bench {' '.join(run)}")
    code = bench_main(run)
    print(f"[evaluate] {time.perf_counter() - t0:.0f} s; report: {out / 'eval' / 'report' / 'index.html'}")
    print(f"total {_seconds(time.perf_counter() - t_all)}")
    return code
