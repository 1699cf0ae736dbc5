"""``bench download NAME...|all``: fetch released weights and corpora into the verified cache ahead of a run.

Also the download options every command that may fetch files shares (``--offline``, ``--cache-dir``,
``--mirror``): :func:`add_download_arguments` and :func:`apply_download_arguments`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.errors import UsageError

HELP = "download released weights and corpora into the verified cache (see `bench weights`)"
EPILOG = """examples:
  bench download encodec-24khz dac-44khz audiodec-exp
  bench download vctk                         # VCTK 0.92 for --data vctk (about 11 GB)
  bench download all --mirror http://mirror.lab/codec-bench
  bench download audiodec-exp --from ~/Downloads/exp.zip   # a file fetched by hand, verified and unpacked

exit status: 0 all present and verified, 2 a name is unknown or a file could not be fetched or verified
"""


def add_download_arguments(p: argparse.ArgumentParser) -> None:
    """``--offline``, ``--cache-dir``, ``--mirror`` (also set by CODEC_BENCH_OFFLINE/_CACHE/_MIRROR)."""
    g = p.add_argument_group("downloads (released weights and corpora, fetched on first use)")
    g.add_argument("--offline", action="store_true",
                   help="never touch the network: a file that is not cached is an error naming it and where to "
                        "put it (or set CODEC_BENCH_OFFLINE=1)")
    g.add_argument("--cache-dir", type=Path, default=None,
                   help="download cache (default $CODEC_BENCH_CACHE, else $XDG_CACHE_HOME/codec-bench)")
    g.add_argument("--mirror", default=None, metavar="URL",
                   help="fetch every file as URL/<file name> instead of from its publisher (or set "
                        "CODEC_BENCH_MIRROR); `bench weights` lists the file names")


def apply_download_arguments(args: argparse.Namespace) -> None:
    """Make the options effective for this process and the processes it starts."""
    from bench.downloads import configure

    configure(cache_dir=getattr(args, "cache_dir", None), offline=bool(getattr(args, "offline", False)),
              mirror_url=getattr(args, "mirror", None))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="+", metavar="NAME", help="registry names (`bench weights` lists them) or 'all'")
    p.add_argument("--from", dest="source", type=Path, metavar="FILE",
                   help="put this file (fetched by hand) into the cache for NAME instead of downloading; it is "
                        "verified like a download (and unpacked)")
    add_download_arguments(p)


def main(args: argparse.Namespace) -> int:
    from bench.downloads import adopt as adopt_file
    from bench.downloads import all_entries, entry, provenance, resolve

    apply_download_arguments(args)
    names = [e.name for e in all_entries()] if args.names == ["all"] else args.names
    for name in names:
        entry(name)  # every name is checked before the first download
    if args.source is not None:
        if len(names) != 1:
            raise UsageError("--from FILE goes with exactly one NAME")
        path = adopt_file(names[0], args.source)
        print(f"{names[0]}: {path} (sha256 {provenance(names[0])['sha256']})")
        return 0
    failed = []
    for name in names:
        try:
            path = resolve(name)
        except UsageError as exc:
            print(f"bench download: error: {exc}", file=sys.stderr)
            failed.append(name)
            continue
        print(f"{name}: {path} (sha256 {provenance(name)['sha256']})", flush=True)
    if failed:
        print(f"bench download: {len(failed)} of {len(names)} not available: {', '.join(failed)}", file=sys.stderr)
        return 2
    return 0
