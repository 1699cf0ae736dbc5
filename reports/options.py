"""Options of the report and the demo page, from the command line or a small YAML config file.

Imported when the ``bench`` parser is built, so nothing heavy (numpy, matplotlib) is imported here."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.errors import UsageError

#: The short default list of ``--report-metrics`` (those the run has, in this order): fits one screen and a
#: two-column paper's ``table*``.
DEFAULT_REPORT_METRICS = ("pesq_wb", "stoi", "visqol_speech", "si_sdr", "phase_distance", "mcd")
#: ``summary.tex`` table environments: ``table*`` spans both columns of a two-column paper, ``table`` one.
LATEX_ENVIRONMENTS = ("table*", "table")


@dataclass(frozen=True)
class DemoOptions:
    """What the demo page shows; every field can come from the command line or a YAML config file.

    Attributes:
        utterances: utterances shown (None: ``per_speaker`` per speaker, at most ``limit``).
        per_speaker: default utterances per speaker.
        limit: default maximum number of utterances.
        format: ``"pcm16"`` or ``"float"`` WAV copies.
        systems: systems shown after the reference (None: every system under test; no natural, no anchors).
        metrics: per-utterance metrics next to each player (None: pesq_wb and si_sdr when present).
        title: page title (None: "Audio samples: RUN").
        intro: an introduction (plain text; blank lines separate paragraphs).
        links: (text, url) pairs shown under the introduction (paper, code, ...).
    """

    utterances: tuple[str, ...] | None = None
    per_speaker: int = 2
    limit: int = 6
    format: str = "pcm16"
    systems: tuple[str, ...] | None = None
    metrics: tuple[str, ...] | None = None
    title: str | None = None
    intro: str = ""
    links: tuple[tuple[str, str], ...] = ()


#: Keys a demo config file may have (the DemoOptions fields).
CONFIG_KEYS = tuple(f.name for f in fields(DemoOptions))


def _str_list(path: Path, key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{path}: {key!r} must be a list of names")
    return tuple(value)


def load_config(path: Path) -> dict[str, Any]:
    """Read a demo config file (a YAML mapping with keys of :class:`DemoOptions`) into DemoOptions fields.

    Raises UsageError naming the file and the problem (unreadable, unknown key, wrong type)."""
    from bench.config_file import load_yaml

    data = load_yaml(path, "--demo-config")
    unknown = sorted(str(k) for k in set(data) - set(CONFIG_KEYS))
    if unknown:
        raise UsageError(f"{path}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(CONFIG_KEYS)}")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("utterances", "systems", "metrics"):
            out[key] = _str_list(path, key, value)
        elif key in ("per_speaker", "limit"):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UsageError(f"{path}: {key!r} must be a positive integer")
            out[key] = value
        elif key in ("title", "intro", "format"):
            if not isinstance(value, str):
                raise UsageError(f"{path}: {key!r} must be text")
            out[key] = value
        elif key == "links":
            if not isinstance(value, list) or not all(
                    isinstance(v, dict) and set(v) == {"text", "url"} and all(isinstance(x, str) for x in v.values())
                    for v in value):
                raise UsageError(f"{path}: 'links' must be a list of {{text: ..., url: ...}}")
            out[key] = tuple(check_link(v["text"], v["url"]) for v in value)
    return out


def check_link(label: str, url: str) -> tuple[str, str]:
    """Allow http(s), mailto and relative links only (no ``javascript:`` and the like)."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("", "http", "https", "mailto"):
        raise UsageError(f"demo link {label!r}: URL scheme {scheme!r} not allowed (http, https, mailto or relative)")
    return label, url


def parse_link(text: str) -> tuple[str, str]:
    """``"Paper=https://..."`` -> ("Paper", "https://..."), checked by :func:`check_link`."""
    label, sep, url = text.partition("=")
    if not sep or not label.strip() or not url.strip():
        raise UsageError(f"--demo-link: expected TEXT=URL, got {text!r}")
    return check_link(label.strip(), url.strip())


__all__ = ["CONFIG_KEYS", "DEFAULT_REPORT_METRICS", "LATEX_ENVIRONMENTS", "DemoOptions", "check_link", "load_config", "parse_link"]
