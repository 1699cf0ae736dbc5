"""``--help`` agrees with the parsers and the registries: every default it shows is the parser's default, every
non-empty default is shown, and its lists of systems, metrics and test types come from the registries."""

from __future__ import annotations

import argparse
import re

from bench.cli import build_parser


def _actions(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(subcommand path, action, the parser holding it) of every option of every (nested) subcommand."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _actions(sub, (*path, name))
        elif action.dest not in ("help", "version"):
            yield path, action, parser


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def test_every_default_shown_in_help_is_the_parsers_default():
    wrong, unshown = [], []
    for path, action, _ in _actions(build_parser()):
        default = action.default
        if default in (None, "", [], argparse.SUPPRESS) or isinstance(default, bool):
            continue
        where = f"bench {' '.join(path)} {'/'.join(action.option_strings) or action.dest}"
        text = " ".join((action.help or "").split())
        tokens = [t.strip(",;:)'\"`") for t in re.findall(r"default[:=]?\s+(\S+)", text)]
        if not tokens:
            unshown.append(f"{where} (default {default!r})")
        elif _shown(default) not in tokens:
            wrong.append(f"{where}: help says default {tokens}, the parser has {default!r}")
    assert not unshown, "defaults not shown in help: " + "; ".join(unshown)
    assert not wrong, "; ".join(wrong)


def _help_of(*path: str) -> str:
    parser = build_parser()
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return " ".join(parser.format_help().split())


def test_help_lists_come_from_the_registries():
    from listening_test.testtypes import TEST_TYPES
    from metrics import METRIC_GROUPS, NOT_DEFAULT
    from systems import COMPOSITES, SYSTEMS

    run_help = _help_of("run")
    listed = re.search(r"`bench systems NAME`\): (.*?) opus@12k", run_help).group(1)
    assert {s.strip() for s in listed.split(",")} == {*SYSTEMS.names(), *COMPOSITES, "all"} - {"files"}
    assert "files:NAME=DIR" in run_help
    for name in [*METRIC_GROUPS, *NOT_DEFAULT]:
        assert name in run_help
    assert ("slow" in run_help) == bool(NOT_DEFAULT)
    top = _help_of()
    listen = re.search(r"listen\s+listening tests: build \((.*?)\)", top).group(1)
    assert listen.replace("A/B", "AB").lower().split(", ") == TEST_TYPES.names()


def test_bench_systems_states_each_codecs_default_bitrate():
    from systems import SYSTEMS, registered_summaries

    summaries = dict(registered_summaries())
    for name in ("opus", "lc3"):
        kbps = SYSTEMS.get(name).Options().kbps
        assert f"{kbps:g} kbps" in summaries[name], summaries[name]


def test_main_in_process_leaves_sigpipe_as_python_set_it():
    """`bench.cli.main([...])` called from Python (tests, notebooks) must not leave SIGPIPE at its default: a
    write to a closed socket in any thread of the caller would then kill the whole process (it did: a pytest
    worker serving a download that the test had killed)."""
    import signal

    from bench.cli import main

    before = signal.getsignal(signal.SIGPIPE)
    assert before == signal.SIG_IGN  # what Python sets at start-up
    assert main(["metrics"]) == 0
    assert signal.getsignal(signal.SIGPIPE) == before
