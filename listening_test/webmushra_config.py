"""Build a test folder from an existing webMUSHRA YAML config (``bench listen import CONFIG.yaml``).

Each ``mushra`` page becomes one item and trial: its ``reference`` is the open and hidden reference, its
``stimuli`` the conditions (keys are the condition names); the item keeps the page's id (numbered
``itemNN`` only where the id is not a plain name or repeats). Files are read relative to the config's
folder or, as webMUSHRA does, to the folder above ``configs/``. ``createAnchor35/70`` are honoured with
our BS.1534-3-compliant zero-phase anchors, not webMUSHRA's. Audio at another rate is resampled to
48 kHz (soxr VHQ); conditions of unequal length are refused (webMUSHRA would silently misalign them).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr
import yaml

from bench.errors import InputError
from listening_test.build import (
    DEFAULT_QUESTIONNAIRE,
    SAMPLE_RATE,
    compute_anchor,
    prepare_item,
)
from listening_test.definition import HIDDEN_REFERENCE, LOW_ANCHOR, MID_ANCHOR, TestDefinition
from listening_test.testtypes.mushra import MUSHRA


def _pages(node: Any) -> list[dict]:
    """Every page dict in order, flattening webMUSHRA's nested (randomised) lists."""
    if isinstance(node, list):
        return [p for child in node for p in _pages(child)]
    return [node] if isinstance(node, dict) else []


def _read(path: Path, config: Path) -> np.ndarray:
    if not path.is_file():
        raise InputError(f"{config}: audio file {path} does not exist")
    x, sr = sf.read(path, dtype="float64", always_2d=True)
    if x.shape[1] != 1:
        raise InputError(f"{path}: {x.shape[1]} channels; only mono speech tests are supported")
    x = x[:, 0]
    if sr != SAMPLE_RATE:
        x = soxr.resample(x, sr, SAMPLE_RATE, quality="VHQ")
    return x


def _root(config: Path, pages: list[dict]) -> Path:
    """The folder the config's audio paths are relative to: the config's own, or webMUSHRA's root above it."""
    first = next((p.get("reference") for p in pages if p.get("reference")), None)
    for base in (config.parent, config.parent.parent):
        if first is None or (base / first).is_file():
            return base
    raise InputError(f"{config}: cannot find {first} next to the config or in the webMUSHRA root above it")


#: a page id used as is for its item (folder and trial names): otherwise the item is numbered
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def from_webmushra_config(config: Path, out: Path, *, seconds: float = 12.0, target_lufs: float = -26.0,
                          seed: int = 0) -> TestDefinition:
    """Write a test folder ``out`` (test.json + audio) for the MUSHRA pages of a webMUSHRA config."""
    try:
        data = yaml.safe_load(Path(config).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{config}: not a readable YAML file ({exc})") from exc
    if not isinstance(data, dict) or "pages" not in data:
        raise InputError(f"{config}: not a webMUSHRA config (no 'pages')")
    pages = [p for p in _pages(data["pages"]) if p.get("type") == "mushra"]
    if len(pages) < 2:
        raise InputError(f"{config}: needs at least 2 mushra pages (one is also used for training), found {len(pages)}")
    root = _root(Path(config), pages)
    items, systems = [], []
    for n, page in enumerate(pages, start=1):
        where = f"{config}: page {page.get('id', n)!r}"
        if not isinstance(page.get("stimuli"), dict) or not page.get("reference"):
            raise InputError(f"{where}: needs 'reference' and a 'stimuli' mapping")
        signals = {HIDDEN_REFERENCE: _read(root / page["reference"], config)}
        for name, rel in page["stimuli"].items():
            if name in signals:
                raise InputError(f"{where}: condition name {name!r} is reserved or repeated")
            signals[str(name)] = _read(root / rel, config)
            if name not in systems and name not in (LOW_ANCHOR, MID_ANCHOR):
                systems.append(str(name))
        for flag, anchor in (("createAnchor35", LOW_ANCHOR), ("createAnchor70", MID_ANCHOR)):
            if page.get(flag) and anchor not in signals:
                signals[anchor] = compute_anchor(anchor, signals[HIDDEN_REFERENCE], str(page.get("id", n)))
        lengths = {name: len(x) for name, x in signals.items()}
        if len(set(lengths.values())) > 1:
            raise InputError(f"{where}: conditions differ in length ({lengths} samples at 48 kHz); "
                             "MUSHRA needs time-aligned stimuli of equal length")
        if MUSHRA.max_signals is not None and len(signals) > MUSHRA.max_signals:
            raise InputError(f"{where}: {len(signals)} signals per trial, BS.1534-3 allows at most {MUSHRA.max_signals}")
        page_id = str(page.get("id", ""))  # kept as the item id where it is a safe, unused name
        item_id = page_id if _SAFE_ID.match(page_id) and page_id not in {i.id for i in items} else f"item{n:02d}"
        items.append(prepare_item(out, item_id, str(page.get("id", n)), "", signals, seconds=seconds,
                                  target_lufs=target_lufs, seed=seed, source=where))
    trials = MUSHRA.trials(items)
    definition = TestDefinition(
        type=MUSHRA.name, title=str(data.get("testname") or "MUSHRA listening test"), systems=systems, items=items,
        trials=trials, training=items[0].id, target_lufs=target_lufs, source_run=str(Path(config).resolve()),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"), questionnaire=DEFAULT_QUESTIONNAIRE,
        notes=[f"imported from webMUSHRA config {config}; training uses the first page, which is also a trial"])
    definition.save(out)
    return definition
