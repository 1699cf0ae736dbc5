"""``bench listen``: build, serve, analyze, import and export listening tests."""

from __future__ import annotations

import argparse
import errno
import secrets
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bench.atomic import write_text_atomic
from bench.errors import InputError, UsageError
from listening_test import agreement

if TYPE_CHECKING:
    from listening_test.analysis import Analysis
    from listening_test.definition import TestDefinition
    from listening_test.storage import Storage

def _help() -> str:
    from listening_test.testtypes import TEST_TYPES

    kinds = ", ".join("A/B" if n == "ab" else n.upper() for n in TEST_TYPES.names())
    return f"listening tests: build ({kinds}) from a run, serve, analyze, import/export webMUSHRA CSV"


HELP = _help()
EPILOG = """examples:
  bench listen build runs/demo --type mushra --out listen/mushra
  bench listen serve listen/mushra --port 8000          # prints the participant and admin links
  bench listen analyze listen/mushra                    # tables + plots in listen/mushra/analysis
  bench listen export listen/mushra --out ratings.csv   # webMUSHRA CSV columns
  bench listen import their_results.csv --out analysis/ # analyse a webMUSHRA MUSHRA CSV
  bench listen analyze listen/mushra --against runs/demo  # + which metric agrees with the listeners
"""


def port_number(text: str) -> int:
    """argparse type for ``--port``: an integer in 0-65535 (0 picks a free port)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


def _type_names() -> list[str]:
    from listening_test.testtypes import TEST_TYPES

    return [*TEST_TYPES.names(), *TEST_TYPES.aliases()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="listen_command", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="make a test folder (test.json, audio, webmushra.yaml) from a run folder")
    b.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    b.add_argument("--type", choices=_type_names(), default="mushra", help="test type (mos is ACR; default mushra)")
    b.add_argument("--systems", help="comma-separated systems from the run (default: all but natural/anchors)")
    b.add_argument("--items", type=int, help="number of test items (default: max(5, 1.5 x systems))")
    b.add_argument("--seconds", type=float, default=10.0, help="maximum excerpt length, <= 12 s (default 10)")
    b.add_argument("--lufs", type=float, default=-26.0, help="loudness target (BS.1770), default -26 LUFS")
    b.add_argument("--seed", type=int, default=0, help="seed for item choice and stimulus ids (default 0)")
    b.add_argument("--title", default="", help="title shown to participants")
    b.add_argument("--lang", default="en", help="language of the participant texts (a shipped translation: en, de); "
                   "the texts land in OUT/texts.yaml for editing (default en)")
    b.add_argument("--participant-param", default="", metavar="NAME",
                   help="crowd workers: URL query parameter carrying their id (Prolific: PROLIFIC_PID, MTurk: workerId)")
    b.add_argument("--completion-code", default="", help="crowd workers: code shown when they finish")
    b.add_argument("--completion-url", default="", help="crowd workers: link back to the platform shown at the end")
    b.add_argument("--pairs", metavar="A:B,...",
                   help="CCR, A/B, ABX: pairs to compare, B rated against A (e.g. opus:opus_spf,audiodec_stage1:scoredec)")
    b.add_argument("--no-preference", action="store_true", help="A/B: offer a 'no preference' answer")
    b.add_argument("--break-every", type=int, metavar="N",
                   help="a break page after every N trials (default 10 for MUSHRA, 30 otherwise; 0: none)")
    b.add_argument("--qualification", action="store_true",
                   help="P.808 qualification questions (hearing, environment, device) before the level check")
    b.add_argument("--headphone-check", action="store_true",
                   help="an antiphase headphone check (6 rounds, 5 correct to pass) on the level-check page")
    b.add_argument("--gold", action="store_true",
                   help="ACR: two gold questions (clean reference, expected 4-5; strongly degraded, expected 1-2)")
    b.add_argument("--traps", type=int, default=0, metavar="N",
                   help="ACR: N trapping questions (a stimulus, then a spoken request for a given answer), 0-5 "
                        "(default 0)")
    b.add_argument("--trap-audio", type=Path, metavar="DIR",
                   help="recorded trap messages select_1.wav ... select_5.wav (default: spoken by espeak-ng)")
    b.add_argument("--out", type=Path, help="test folder (default RUN_DIR/listen-TYPE)")
    s = sub.add_parser("serve", help="serve a test folder to participants (SQLite results in the folder)")
    s.add_argument("dir", type=Path, metavar="DIR")
    s.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=port_number, default=8000, help="TCP port, 0-65535 (0: any free port; default 8000)")
    s.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                   help="a host name participants use to reach the server (repeatable); IP addresses and "
                        "localhost are always accepted, other names are refused against DNS rebinding")
    s.add_argument("--db", help="database URL (default sqlite in DIR; PostgreSQL is not supported yet)")
    s.add_argument("--admin-token", help="token for /admin (default: a fresh random token, printed)")
    a = sub.add_parser("analyze", help="post-screening, statistics, tables and plots for a served test")
    a.add_argument("dir", type=Path, metavar="DIR")
    a.add_argument("--db", help="database URL (default sqlite in DIR)")
    a.add_argument("--out", type=Path, help="output folder (default DIR/analysis)")
    a.add_argument("--no-screening", action="store_true",
                   help="keep every assessor (pilots); by default the test type's post-screening rules apply")
    agreement.add_arguments(a)
    i = sub.add_parser("import", help="analyse a webMUSHRA CSV, or make a test folder from a webMUSHRA YAML config")
    i.add_argument("csv", type=Path, metavar="FILE.csv|CONFIG.yaml")
    i.add_argument("--type", choices=_type_names(), default="mushra", help="test type of a CSV (default mushra)")
    i.add_argument("--out", type=Path, help="output folder (default next to the input: <stem>-analysis or <stem>-test)")
    agreement.add_arguments(i)
    i.add_argument("--test", type=Path, metavar="DIR", help="with --against: the test folder whose test.json maps "
                   "items to utterances (default: item ids are utterance ids)")
    e = sub.add_parser("export", help="write the ratings of a served test in webMUSHRA's CSV columns")
    e.add_argument("dir", type=Path, metavar="DIR")
    e.add_argument("--db", help="database URL (default sqlite in DIR)")
    e.add_argument("--out", type=Path, help="CSV path (default DIR/ratings_webmushra.csv)")


def _load(folder: Path, db: str | None) -> tuple[TestDefinition, Storage]:
    from listening_test.definition import DefinitionError, TestDefinition
    from listening_test.storage import open_storage
    from listening_test.testtypes import TEST_TYPES
    from listening_test.wording import TextsError, load_texts

    try:
        definition = TestDefinition.load(folder)
        load_texts(folder)
    except (DefinitionError, TextsError) as exc:
        raise UsageError(str(exc)) from exc
    if definition.type not in TEST_TYPES:  # the definition's reader knows the format, the registry the types
        raise UsageError(f"{Path(folder) / 'test.json'}: type {definition.type!r} is not one of "
                         f"{', '.join(TEST_TYPES.names())}")
    return definition, open_storage(db, folder)


def _print_analysis(result: Analysis, out: Path) -> int:
    """Print the outcome; 1 when post-screening left nobody (no statistics), else 0."""
    from listening_test.panel import assessors

    note = "" if result.panel_ok else " (too few: see the warning below)"
    print(f"{assessors(result.n_assessors)}, {result.n_kept} kept after post-screening{note}")
    for who, why in result.excluded.items():
        print(f"  excluded {who}: {why}")
    if result.n_kept == 0:
        print(f"error: post-screening excluded all {assessors(result.n_assessors)}, so there are no statistics; "
              f"the reasons are above and in {out / 'screening.md'}. For a pilot, rerun with --no-screening.",
              file=sys.stderr)
        return 1
    for row in result.summary:
        unreliable = "" if result.panel_ok else " (CI not reliable)"
        print(f"  {row['condition']:<24} n={row['n']:<4} mean {row['mean']:.2f} +- {row['ci95']:.2f}{unreliable}"
              f"  median {row['median']:.1f} IQR {row['iqr']:.1f}")
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"tables and plots in {out}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from listening_test.build import BuildOptions, build_test
    from listening_test.testtypes.pairs import parse_pairs

    out = args.out or args.run_dir / f"listen-{args.type}"
    systems = [s.strip() for s in args.systems.split(",") if s.strip()] if args.systems else None
    try:
        pairs = parse_pairs(args.pairs) if args.pairs else None
    except ValueError as exc:
        raise UsageError(f"--pairs: {exc}") from exc
    if args.items is not None and args.items < 1:
        raise UsageError("--items must be at least 1")
    opts = BuildOptions(run_dir=args.run_dir, out=out, type=args.type, systems=systems, items=args.items,
                        seconds=args.seconds, target_lufs=args.lufs, seed=args.seed, title=args.title, lang=args.lang,
                        participant_param=args.participant_param, completion_code=args.completion_code,
                        completion_url=args.completion_url, qualification=args.qualification,
                        headphone_check=args.headphone_check, gold=args.gold, traps=args.traps,
                        trap_audio=args.trap_audio, pairs=pairs, no_preference=args.no_preference,
                        break_every=args.break_every)
    try:
        d = build_test(opts)
    except InputError as exc:
        raise UsageError(str(exc)) from exc
    print(f"{d.type.upper()} test with {len(d.items) - 1} items, {len(d.trials)} trials, systems: {', '.join(d.systems)}")
    for note in d.notes:
        print(f"note: {note}")
    print(f"wrote {out}/test.json, {out}/audio/ and {out}/webmushra.yaml")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from listening_test.server import create_app

    definition, storage = _load(args.dir, args.db)
    sock = _bind(args.host, args.port)  # before any link or token is printed
    port = sock.getsockname()[1]
    token = args.admin_token or secrets.token_urlsafe(16)
    app = create_app(args.dir, definition, storage, token, allowed_hosts=args.allowed_host)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    base = f"http://{shown}:{port}"
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {args.host}: reachable from other machines", file=sys.stderr)
    print(f"participants: {base}/", flush=True)
    print(f"admin: {base}/admin?token={token}", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    return 0


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; a clear :class:`UsageError` when busy or not bindable."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise UsageError(f"--host {host}: cannot resolve ({exc.strerror})") from exc
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"--port: port {port} on {host} is already in use; choose another "
                             "(--port 0 picks a free one)") from exc
        raise UsageError(f"--host {host} --port {port}: cannot listen ({exc.strerror})") from exc
    sock.set_inheritable(True)
    return sock


def _analyze(args: argparse.Namespace) -> int:
    from listening_test.analysis import analyse
    from listening_test.testtypes import min_trial_ms

    definition, storage = _load(args.dir, args.db)
    ratings = storage.ratings()
    if not ratings:
        raise UsageError(f"{args.dir}: no ratings stored yet")
    out = args.out or args.dir / "analysis"
    checks = {p.id: p.checks for p in storage.participants()}
    result = analyse(ratings, definition.type, out, definition.systems, screening=not args.no_screening,
                     checks=checks, min_trial_ms=min_trial_ms(definition))
    status = _print_analysis(result, out)
    if status == 0:
        kept = [r for r in ratings if r.assessor not in result.excluded]  # after post-screening
        agreement.run_from_args(args, kept, definition.type, out, definition)
    return status


def _import(args: argparse.Namespace) -> int:
    from listening_test.analysis import analyse
    from listening_test.webmushra import read_csv

    if args.csv.suffix.lower() in (".yaml", ".yml"):
        return _import_config(args)
    try:
        ratings, _ = read_csv(args.csv)
    except InputError as exc:
        raise UsageError(str(exc)) from exc
    if not ratings:
        raise UsageError(f"{args.csv}: no ratings in the file")
    out = args.out or args.csv.with_name(f"{args.csv.stem}-analysis")
    result = analyse(ratings, args.type, out)
    status = _print_analysis(result, out)
    if status == 0:
        kept = [r for r in ratings if r.assessor not in result.excluded]  # after post-screening
        agreement.run_from_args(args, kept, args.type, out, _load(args.test, None)[0] if args.test else None)
    return status


def _import_config(args: argparse.Namespace) -> int:
    from listening_test.webmushra_config import from_webmushra_config

    out = args.out or args.csv.with_name(f"{args.csv.stem}-test")
    if (out / "results.sqlite").exists():
        raise UsageError(f"{out}: holds the results of a served test; import into another --out folder")
    try:
        d = from_webmushra_config(args.csv, out)
    except InputError as exc:
        raise UsageError(str(exc)) from exc
    print(f"MUSHRA test with {len(d.items)} items from {args.csv}, conditions: {', '.join(d.systems)}")
    print(f"wrote {out}/test.json and {out}/audio/; serve it with: bench listen serve {out}")
    return 0


def _export_path(folder: Path, out: Path | None, db: str | None = None) -> Path:
    """Where ``listen export`` writes: ``--out``, refused inside the test folder (its files are the test:
    test.json, the ratings database, audio), except the default ``DIR/ratings_webmushra.csv``, and refused
    when it is the ratings database given by ``--db``."""
    default = folder / "ratings_webmushra.csv"
    if out is None:
        return default
    real, root = out.resolve(), folder.resolve()
    if real != default.resolve() and (real == root or root in real.parents):
        raise UsageError(f"--out {out}: inside the test folder {folder}, whose files are the test itself (test.json, "
                         f"results.sqlite, audio/); write the CSV outside it (or leave --out out: {default})")
    if db and db.startswith("sqlite:///") and Path(db[len("sqlite:///"):]).resolve() == real:
        raise UsageError(f"--out {out}: is the ratings database (--db); write the CSV elsewhere")
    if real.is_dir():
        raise UsageError(f"--out {out}: is a folder; give the CSV file to write")
    return out


def _export(args: argparse.Namespace) -> int:
    from listening_test.webmushra import ratings_to_csv

    out = _export_path(args.dir, args.out, args.db)
    _, storage = _load(args.dir, args.db)
    answers = {p.id: p.questionnaire or {} for p in storage.participants()}
    ratings = storage.ratings()
    write_text_atomic(out, ratings_to_csv(ratings, args.dir.resolve().name, answers))
    print(f"wrote {len(ratings)} ratings to {out}")
    return 0


ACTIONS = {"build": _build, "serve": _serve, "analyze": _analyze, "import": _import, "export": _export}


def main(args: argparse.Namespace) -> int:
    return ACTIONS[args.listen_command](args)
