"""``bench metrics``: every registered metric with its rate, direction and library."""

from __future__ import annotations

import argparse

HELP = "list metrics with their sample rate, direction, library and version"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sample-rate", type=int, default=48000, choices=[16000, 24000, 44100, 48000],
                   help="mark the metrics a run at this evaluation rate skips, with the reason (default 48000)")


def main(args: argparse.Namespace) -> int:
    from metrics import METRIC_GROUPS, METRICS, NOT_DEFAULT, OPTION_KINDS, library_version
    from metrics.asr import DEFAULT_MODEL, MODELS

    for name in METRICS.names():
        try:
            cls = METRICS.get(name)
        except Exception as exc:  # noqa: BLE001 - a metric (or plugin) that fails to load is listed with why
            print(f"{name:<15} cannot be loaded: {exc}")
            continue
        s = cls.spec
        reason = cls.unavailable_reason()
        lib = f"{s.library} {library_version(s.library) or '(missing)'}" if s.library else "codec-bench"
        arrow = "higher better" if s.higher_is_better else "lower better"
        ref = "reference" if s.needs_reference else "no reference"
        note = " [not in the default list: slow]" if name in NOT_DEFAULT else ""
        print(f"{name:<15} {s.sample_rate / 1000:g} kHz  {arrow:<13} {ref:<12} {s.unit:<8} {lib:<22} "
              f"{s.description}{note}")
        if reason:
            print(f"{'':<15} -> unavailable: {reason}")
        elif weights := cls.weights_reason({}):
            print(f"{'':<15} -> needs weights: {weights}")
        elif skip := s.skip_reason(args.sample_rate):
            print(f"{'':<15} -> skipped at {args.sample_rate} Hz: {skip}")
    print("\ngroups: " + "; ".join(f"{g} = {', '.join(ms)}" for g, ms in METRIC_GROUPS.items()))
    print(f"options: {', '.join(OPTION_KINDS)} take [model=SIZE], the Whisper model ({', '.join(MODELS)}; default "
          f"{DEFAULT_MODEL}); wer[model=small] is stored as wer_small")
    print("metrics with no reference are computed on the output as written (no alignment) and also on each "
          "reference once (system 'reference': the ceiling on this corpus)")
    print("\nalso stored per item: bitrate_kbps (achieved), lag_samples (total lag compensated, see --align), "
          "si_sdr_raw, snr_raw, phase_distance_raw (unaligned)")
    return 0
