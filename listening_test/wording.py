"""The participant-facing texts of a test: ``texts.yaml`` in the test folder, copied at build time from a
shipped translation (``listening_test/translations/<lang>.yaml``) and edited by the test author.

Keys missing from a test folder's file fall back to English; unknown keys and values of the wrong kind
are errors that name the file, so a typo never silently shows the English text.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

TEXTS_FILE = "texts.yaml"


class TextsError(ValueError):
    """A texts file that is not valid YAML, not a mapping, or has unknown keys or wrong value kinds."""


def languages() -> list[str]:
    """The shipped translations (``en``, ``de``, ...)."""
    folder = resources.files("listening_test").joinpath("translations")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def shipped(lang: str) -> str:
    """The YAML text of the shipped translation ``lang``."""
    if lang not in languages():
        raise TextsError(f"--lang {lang!r}: no shipped translation (available: {', '.join(languages())})")
    return resources.files("listening_test").joinpath("translations", f"{lang}.yaml").read_text(encoding="utf-8")


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TextsError(f"{where}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise TextsError(f"{where}: must be a mapping of text keys to texts")
    return data


def load_texts(test_dir: Path) -> dict[str, Any]:
    """The texts of the test in ``test_dir`` (English where its ``texts.yaml`` is missing or silent)."""
    texts = _parse(shipped("en"), "en.yaml")
    path = Path(test_dir) / TEXTS_FILE
    if not path.is_file():
        return texts
    own = _parse(path.read_text(encoding="utf-8"), str(path))
    unknown = sorted(set(own) - set(texts))
    if unknown:
        raise TextsError(f"{path}: unknown keys {', '.join(unknown)} (known: see listening_test/translations/en.yaml)")
    for key, value in own.items():
        if type(value) is not type(texts[key]):
            raise TextsError(f"{path}: {key} must be a {type(texts[key]).__name__}, not a {type(value).__name__}")
        if isinstance(value, list) and len(value) != len(texts[key]):
            raise TextsError(f"{path}: {key} must have {len(texts[key])} entries")
    return {**texts, **own}
