"""Make the VERSA MCD fixture: short 24 kHz clips of demo pairs and the values VERSA's ``mcd_f0`` gives them.

tests/test_paper_metrics.py checks that ``mcd_espnet`` equals these values within 1e-3 dB. The clips are kept
(16-bit FLAC) so the check does not depend on the libopus on the machine running it.

Needs a run folder with the demo outputs and a VERSA checkout (https://github.com/wavlab-speech/versa; it is
not on PyPI) with its ``mcd_f0`` dependencies (pysptk, pyworld, scipy, fastdtw) importable:

    PYTHONPATH=$PWD .venv/bin/python -m bench run --systems natural,opus,anchor35 --data demo --limit 3 \\
        --metrics pesq_wb --out /tmp/versa_run
    git clone https://github.com/wavlab-speech/versa /tmp/versa && pip install --target /tmp/versa_deps fastdtw
    PYTHONPATH=$PWD:/tmp/versa:/tmp/versa_deps .venv/bin/python tests/data/versa_mcd/make_versa_mcd.py /tmp/versa_run

VERSA runs with its shipped defaults (egs/separate_metrics/mcd_f0.yaml: f0 40-800 Hz, 5 ms shift, FFT 1024,
order 39, alpha 0.466, no DTW) at the clips' 24 kHz rate.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import soundfile as sf

HERE = Path(__file__).resolve().parent
RATE = 24000
UTTERANCES = ("demo_f_001", "demo_f_002")
SYSTEMS = ("opus", "anchor35")
#: the clip taken from each file, in seconds
START, LENGTH = 0.5, 1.5
#: VERSA's shipped mcd_f0 settings (egs/separate_metrics/mcd_f0.yaml)
VERSA_CONFIG = {"f0min": 40, "f0max": 800, "mcep_shift": 5, "mcep_fftl": 1024, "mcep_dim": 39,
                "mcep_alpha": 0.466, "seq_mismatch_tolerance": 0.1, "power_threshold": -20, "dtw": False}


def make_clips(run: Path) -> list[tuple[str, str, str]]:
    """Write the 24 kHz clips of each reference and output; return ``(pair, reference file, output file)``."""
    from bench.audio import resample
    from bench.runfolder.wav import read_run_wav

    def clip(src: Path, name: str) -> str:
        audio, sr = read_run_wav(src)
        start = int(START * sr)
        sf.write(HERE / name, resample(audio[start:start + int(LENGTH * sr)], sr, RATE), RATE, subtype="PCM_16")
        return name

    pairs = []
    for utt in UTTERANCES:
        ref = clip(run / "reference" / f"{utt}.wav", f"{utt}_reference.flac")
        for system in SYSTEMS:
            pairs.append((f"{utt}/{system}", ref, clip(run / "audio" / system / f"{utt}.wav", f"{utt}_{system}.flac")))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="run folder with the demo outputs of natural, opus and anchor35")
    parser.add_argument("--versa-commit", default="", help="the VERSA commit used (default: asked from its git checkout)")
    args = parser.parse_args()
    import versa
    from versa.sequence_metrics.mcd_f0 import McdF0Metric

    metric = McdF0Metric(dict(VERSA_CONFIG))
    root = Path(versa.__file__).resolve().parents[1]
    commit = args.versa_commit or subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], check=False,
                                                 capture_output=True, text=True).stdout.strip()
    values = {}
    for pair, ref, out in make_clips(args.run):
        reference, sr_r = sf.read(HERE / ref)
        output, sr_o = sf.read(HERE / out)
        assert sr_r == sr_o == RATE
        result = metric.compute(output, reference, metadata={"sample_rate": RATE})
        values[pair] = {"reference": ref, "output": out, **{k: float(v) for k, v in result.items()}}
        print(pair, values[pair])
    doc = {"versa": {"repository": "https://github.com/wavlab-speech/versa", "commit": commit or "unknown",
                     "function": "versa.sequence_metrics.mcd_f0.McdF0Metric", "config": VERSA_CONFIG},
           "sample_rate": RATE, "clip_s": [START, START + LENGTH], "pairs": values}
    (HERE / "expected.json").write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
