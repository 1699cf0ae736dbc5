"""``bench run``: evaluate systems on a corpus."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from bench.executors import EXECUTORS
from metrics import METRIC_GROUPS, NOT_DEFAULT
from systems import COMPOSITES, SYSTEMS

HELP = "run systems on a corpus and compute every metric (resumable)"
DESCRIPTION = """Run systems on a corpus, write their outputs (48 kHz unless --sample-rate says otherwise), compute
metrics on time-aligned signals.

Writes OUT/audio/<system>/<id>.wav, OUT/results.csv (long format), OUT/summary.csv (mean, std, 95% CI),
OUT/run.json (versions, configuration, input checksums) and OUT/report/. Rerunning the same command
resumes: nothing that is done is recomputed, and a killed run loses nothing."""
#: every registered system and composition (from the registries, so the list cannot drift)
_SYSTEM_LIST = textwrap.fill(", ".join([*(n for n in SYSTEMS.names() if n != "files"), *COMPOSITES, "all"]),
                             width=100, initial_indent="  ", subsequent_indent="  ")
EPILOG = f"""systems (--systems, comma-separated; see `bench systems` and `bench systems NAME`):
{_SYSTEM_LIST}
  opus@12k                a system at another bitrate (its `@` option; 12k = 12 kbit/s)
  opus[kbps=12,application=voip]   any of its options (commas inside [...] do not split the list)
  files:NAME=DIR          outputs produced elsewhere, matched by utterance id (files:NAME@6k=DIR: at 6 kbps)
  SYSTEM+spf              any system followed by the score-based post-filter: opus@12k+spf[steps=8]
  several instances of one system run side by side: --systems opus@6k,opus@12k,opus@24k
data (--data):
  demo | vctk | vctk:PATH | librispeech:test-clean | librispeech:PATH | folder:PATH | manifest:FILE.csv
released weights (EnCodec, DAC, the AudioDec release) and the vctk / librispeech:test-clean corpora are downloaded
on first use into a verified cache (`bench weights`), only for systems named here (`all` downloads nothing);
--offline never touches the network. AudioDec systems without their release run the shipped demo weights:
symad[weights=official] insists on the release, symad[weights=demo] on the demo weights

exit status: 0 run complete (failed values are listed), 2 usage error, 1 with --strict if anything failed,
  1 when the machine failed (disk full, out of memory, I/O error): nothing of that is stored, rerun to finish
"""


def _checkpoint(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, Path(path).expanduser()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, metavar="FILE.yaml",
                   help="read options from YAML (keys as below, e.g. max_lag_ms: 10); flags given here override")
    p.add_argument("--print-config", action="store_true",
                   help="print the effective options as YAML (for --config) and exit without running")
    p.add_argument("--systems", help="comma-separated systems, or 'all' (required)")
    p.add_argument("--data", help="demo | vctk | vctk:PATH | librispeech:test-clean | librispeech:PATH | folder:PATH | "
                                  "manifest:FILE.csv (required; vctk and librispeech:test-clean are downloaded "
                                  "into the cache on first use)")
    p.add_argument("--out", type=Path, help="run folder (required; created; rerun to resume)")
    groups = ", ".join(METRIC_GROUPS)
    slow = f" except {', '.join(NOT_DEFAULT)} (slow)" if NOT_DEFAULT else ""
    p.add_argument("--metrics", default="default",
                   help=f"comma-separated metrics or groups ({groups}); 'default' = every available metric{slow}; "
                        "'all' = every available metric; see `bench metrics` (default: default)")
    p.add_argument("--limit", type=int, help="only N utterances, taken round-robin across speakers (each speaker's first ones by id), so a small run hears every voice")
    p.add_argument("--workers", type=int, default=None, help="metric worker processes (default: all cores)")
    p.add_argument("--executor", default="local",
                   help=f"where the work runs: {' | '.join(EXECUTORS.names())}; local = a process pool, ray = a "
                        "Ray cluster (default: local)")
    p.add_argument("--ray-address", default=None, metavar="auto|ray://HOST:PORT",
                   help="join a running Ray cluster (default: start a private local one with --workers CPUs)")
    p.add_argument("--shard", default=None, metavar="I/N",
                   help="only shard I of N (1-based; utterances sorted by id, every N-th); join with `bench merge`")
    p.add_argument("--device", default="cpu", help="torch device for neural systems: cpu | cuda | cuda:N (default: cpu)")
    p.add_argument("--batch-size", type=int, default=4, help="utterances per batch for neural systems (default 4)")
    p.add_argument("--amp", action="store_true", help="mixed precision for neural systems (changes values)")
    p.add_argument("--align", default="system", choices=["system", "utterance", "none"],
                   help="residual-lag compensation before intrusive metrics (default: system): system = one lag per "
                        "system from the correlation summed over its utterances; utterance = one lag per "
                        "utterance; none = no alignment anywhere (files: outputs are only cropped or padded)")
    p.add_argument("--no-align", dest="align", action="store_const", const="none", help="same as --align none")
    p.add_argument("--max-lag-ms", type=float, default=20.0, help="residual-lag search window (default 20 ms)")
    p.add_argument("--strict", action="store_true", help="exit 1 if any value could not be computed")
    p.add_argument("--downmix", action="store_true", help="average multichannel input instead of rejecting it")
    p.add_argument("--sample-rate", type=int, default=48000, choices=[16000, 24000, 44100, 48000],
                   help="evaluation rate: references are resampled to it once and outputs stored at it; each "
                        "system still gets audio at its own rate (default 48000, the paper's)")
    g = p.add_argument_group("corpus selection")
    g.add_argument("--split", default="test", choices=["test", "all"],
                   help="VCTK: 'test' = the paper's test speakers p232, p257, or 'all' (default: test)")
    g.add_argument("--speakers", default="", help="comma-separated speakers to keep")
    g.add_argument("--mic", default="mic1", choices=["mic1", "mic2"], help="VCTK 0.92 microphone (default mic1)")
    g = p.add_argument_group("run-wide system settings (each system's own options go in its spec)")
    g.add_argument("--weights", type=Path, help="folder of official weights: the unzipped AudioDec exp/ (default: the release from "
                        "the download cache, else the demo weights), "
                        "EnCodec's *.th and DAC's weights*.pth files (also looked for in DIR/encodec, DIR/dac)")
    g.add_argument("--checkpoint", type=_checkpoint, action="append", default=[], metavar="NAME=PATH",
                   help="checkpoint for one system or part (repeatable), e.g. symad=..., spf=..., encodec=..., "
                        "dac_44k=...")
    g.add_argument("--streaming", action="store_true", help="run neural codecs chunk by chunk")
    g.add_argument("--seed", type=int, default=0, help="base seed of stochastic systems (default 0)")
    g = p.add_argument_group("deprecated (next release: removed); they set defaults of every such system")
    g.add_argument("--opus-bitrate", type=int, default=None, help="bit/s; write opus@12k instead")
    g.add_argument("--opus-application", default=None, choices=["audio", "voip", "lowdelay"],
                   help="write opus[application=voip] instead")
    g.add_argument("--spf-sampler", default=None, choices=["pc", "ode", "sde"],
                   help="write CODEC+spf[sampler=ode] instead")
    g.add_argument("--spf-steps", type=int, default=None, help="write CODEC+spf[steps=8] instead")
    from bench.commands.download import add_download_arguments

    add_download_arguments(p)
    p.add_argument("--no-report", dest="report", action="store_false", help="skip the report at the end")
    p.add_argument("--overwrite", action="store_true",
                   help="add to a run folder even if its value-changing settings differ")
    p.add_argument("--quiet", action="store_true", help="no progress or summary output")


def standalone_parser() -> argparse.ArgumentParser:
    """The parser of ``bench run`` alone (for --config and the Python API)."""
    p = argparse.ArgumentParser(prog="bench run", description=DESCRIPTION)
    add_arguments(p)
    return p


def resolve_args(argv: list[str], overrides: dict | None = None, source: str = "") -> argparse.Namespace:
    """Parse ``argv`` over the YAML of ``--config`` (if any) and ``overrides``: flags > overrides > file.

    Raises UsageError for unknown keys (with suggestions) and bad values.
    """
    from bench.config_file import apply_mapping, load_yaml

    parser = standalone_parser()
    first = parser.parse_args(argv)
    config = first.config if first.config is not None else (overrides or {}).get("config")
    if config is not None:
        apply_mapping(parser, load_yaml(config), f"--config {config}")
    if overrides:
        apply_mapping(parser, overrides, source or "options")
    return parser.parse_args(argv)


def effective_options(args: argparse.Namespace) -> dict:
    """The options a run uses, after config file and flags (recorded in run.json, printed by --print-config)."""
    from bench.run_options import RunOptions

    return RunOptions.from_namespace(args).options()


def main(args: argparse.Namespace) -> int:
    if getattr(args, "_argv", None) is not None:
        args = resolve_args(args._argv)
    if args.print_config:
        from bench.config_file import to_yaml

        print(to_yaml(effective_options(args)), end="")
        return 0
    outcome, cfg = execute(args)
    return 1 if (outcome.retry or (cfg.strict and outcome.failures)) else 0


def execute(args: argparse.Namespace):
    """Run the parsed command line on the engine (:func:`bench.run_options.execute`), then build the report.
    Returns (RunOutcome, RunConfig)."""
    from bench.run_options import RunOptions
    from bench.run_options import execute as run

    outcome, cfg = run(RunOptions.from_namespace(args))
    if cfg.report:
        _report(cfg.out, cfg.quiet)
    return outcome, cfg


def _report(out: Path, quiet: bool) -> None:
    try:
        from reports.after_run import report_after_run
    except ImportError:
        return
    report_after_run(out, quiet)
