"""``bench weights``: every file the suite can download, whether it is cached and intact, and what it enables."""

from __future__ import annotations

import argparse

from bench.commands.download import add_download_arguments, apply_download_arguments

HELP = "list downloadable weights and corpora: cached or missing, size, checksum, licence, what each enables"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--verify", action="store_true", help="hash every cached file again (slow for corpora)")
    p.add_argument("--sources", action="store_true",
                   help="also print each file's URL and where its checksum was read (to check the registry)")
    add_download_arguments(p)


def _size(n: int | None) -> str:
    return "?" if n is None else f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{n / 1e3:,.0f} kB"


def main(args: argparse.Namespace) -> int:
    from bench.downloads import all_entries, cache_root, check, is_offline, mirror

    apply_download_arguments(args)
    where = f"cache: {cache_root()}" + (" (offline)" if is_offline() else "")
    if mirror():
        where += f"; mirror: {mirror()}"
    print(where)
    entries = all_entries()
    width = max(len(e.name) for e in entries)
    missing = []
    for e in entries:
        s = check(e.name, full=args.verify)
        checksum = ("sha256 " + s.sha256[:12] if s.sha256 else
                    "sha256 known" if e.sha256 else "sha256 prefix " + e.sha256_prefix if e.sha256_prefix
                    else "no published checksum")
        state = {"ok": "cached", "missing": "missing", "corrupt": "CORRUPT", "unverified": "unverified"}[s.state]
        size = _size(s.size if s.size is not None else e.size)
        print(f"{e.name:<{width}}  {state:<10} {size:>9}  {checksum:<28} {e.licence:<13} {e.description}; "
              f"enables {', '.join(e.used_by)}")
        if s.problem:
            print(f"{'':<{width}}  -> {s.problem}")
        if s.state != "ok":
            missing.append(e.name)
        if args.sources:
            print(f"{'':<{width}}  file {e.filename}; url {' | '.join(e.urls)}\n{'':<{width}}  checksum source: "
                  f"{e.source}")
    if missing:
        print(f"\nmissing: {len(missing)} (fetched on first use, or now with `bench download NAME`; offline, copy "
              f"the file to {cache_root() / 'files'}/<file name> and run `bench download NAME --offline`)")
    return 0
