"""Rendering the HTML pages from the package's Jinja2 templates (reports/templates/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bench.atomic import write_text_atomic

_ENV: Environment | None = None


def environment() -> Environment:
    """The shared Jinja2 environment: autoescaping on, undefined variables are errors."""
    global _ENV
    if _ENV is None:
        _ENV = Environment(
            loader=PackageLoader("reports", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
    return _ENV


def render(template: str, path: Path, context: dict[str, Any]) -> Path:
    """Render ``template`` with ``context`` into ``path`` (UTF-8, written atomically)."""
    from bench import __version__

    html = environment().get_template(template).render(version=__version__, **context)
    return write_text_atomic(path, html)


__all__ = ["environment", "render"]
