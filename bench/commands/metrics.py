"""``bench metrics``: every registered metric with its rate, direction and library."""

from __future__ import annotations

import argparse

HELP = "list metrics with their sample rate, direction, library and version"


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def main(args: argparse.Namespace) -> int:
    from metrics import METRICS, library_version

    for name in METRICS.names():
        try:
            cls = METRICS.get(name)
        except Exception as exc:
            print(f"{name:<15} cannot be loaded: {exc}")
            continue
        s = cls.spec
        reason = cls.unavailable_reason()
        lib = f"{s.library} {library_version(s.library) or '(missing)'}" if s.library else "codec-bench"
        arrow = "higher better" if s.higher_is_better else "lower better"
        print(f"{name:<15} {s.sample_rate / 1000:g} kHz  {arrow:<13} {s.unit:<8} {lib:<22} {s.description}")
        if reason:
            print(f"{'':<15} -> unavailable: {reason}")
    print("\nalso stored per item: bitrate_kbps (achieved), lag_samples (total lag compensated, see --align), "
          "si_sdr_raw, snr_raw, phase_distance_raw (unaligned)")
    return 0
