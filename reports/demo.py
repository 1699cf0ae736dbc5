"""The demo page (like the ScoreDec paper's): audio players for chosen utterances, rows = systems.

The folder is self-contained: audio copied into ``demo/audio/``, thumbnails into ``demo/img/``,
only relative links, no external resources, so it can be copied to any static host.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np
import soundfile as sf

from bench.errors import UsageError
from bench.rundir import system_dir
from reports.ratequality import grouped_systems
from reports.rundata import BITRATE, Run, audio_rate, read_audio
from reports.spectrograms import thumbnail

#: WAV subtypes for the copied audio.
DEMO_FORMATS = {"pcm16": "PCM_16", "float": "FLOAT"}
REFERENCE_DIR = "_reference"


@dataclass
class DemoCell:
    """One player: relative links (URL-quoted) or why it is missing."""

    audio: str = ""
    image: str = ""
    duration: float = 0.0
    bitrate: str = ""
    clipped: int = 0
    missing: str = ""


@dataclass
class DemoRow:
    """One system (or the reference) across the chosen utterances."""

    name: str
    description: str
    nominal_kbps: str
    cells: list[DemoCell] = field(default_factory=list)


def choose_utterances(run: Run, requested: list[str] | None, per_speaker: int = 2, limit: int = 6) -> list[str]:
    """The requested utterances (checked), or a balanced few: round-robin over speakers, up to
    ``per_speaker`` each and ``limit`` in all, preferring utterances with every system's audio present."""
    if requested:
        unknown = [u for u in requested if u not in run.utterances]
        if unknown:
            raise UsageError(f"--demo-utterances: unknown utterance(s) {', '.join(unknown)} in {run.root}")
        return list(requested)
    by_speaker: dict[str, list[str]] = {}
    for u in run.utterances:
        if run.reference_path(u).is_file():
            by_speaker.setdefault(run.speakers.get(u, ""), []).append(u)
    for spk, utts in by_speaker.items():
        utts.sort(key=lambda u: sum(not run.audio_path(s, u).is_file() for s in run.systems))
        by_speaker[spk] = utts[:per_speaker]
    chosen: list[str] = []
    for rank in range(per_speaker):
        for utts in by_speaker.values():
            if rank < len(utts) and len(chosen) < limit:
                chosen.append(utts[rank])
    order = {u: i for i, u in enumerate(run.utterances)}
    return sorted(chosen, key=order.__getitem__)


def _link(*parts: str) -> str:
    return "/".join(quote(p) for part in parts for p in part.split("/"))


def _copy(src: Path, dest: Path, subtype: str) -> tuple[float, int] | None:
    """Copy a WAV in the demo format. Returns (duration in s, clipped samples) or None when unreadable."""
    x = read_audio(src)
    if x is None:
        return None
    sr = audio_rate(src)
    clipped = int(np.count_nonzero(np.abs(x) > 1.0)) if subtype == "PCM_16" else 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(dest), np.clip(x, -1.0, 1.0) if subtype == "PCM_16" else x, sr, subtype=subtype)
    return x.size / sr, clipped


def _cell(src: Path, demo_dir: Path, rel_dir: str, utt: str, subtype: str, bitrate: float) -> DemoCell:
    rel_audio = f"audio/{rel_dir}/{utt}.wav"
    copied = _copy(src, demo_dir / rel_audio, subtype)
    if copied is None:
        return DemoCell(missing=f"no audio ({src.name} missing or unreadable)")
    rel_img = f"img/{rel_dir}/{utt}.png"
    x = read_audio(demo_dir / rel_audio)
    assert x is not None
    thumbnail(x, audio_rate(demo_dir / rel_audio), demo_dir / rel_img)
    return DemoCell(_link(rel_audio), _link(rel_img), copied[0],
                    f"{bitrate:.2f} kbps" if math.isfinite(bitrate) else "", copied[1])


def build_demo(run: Run, demo_dir: Path, utterances: list[str], fmt: str = "pcm16") -> list[DemoRow]:
    """Copy audio and thumbnails into ``demo_dir`` and return the table rows (reference first)."""
    if fmt not in DEMO_FORMATS:
        raise UsageError(f"--demo-format: {fmt!r} is not one of {', '.join(DEMO_FORMATS)}")
    subtype = DEMO_FORMATS[fmt]
    if any(system_dir(s) == REFERENCE_DIR for s in run.systems):
        raise UsageError(f"a system's folder name collides with the demo's {REFERENCE_DIR!r} folder")
    rate = run.info.get("config", {}).get("sample_rate") or 48000
    ref = DemoRow("reference", f"The reference as evaluated ({rate / 1000:g} kHz).", "")
    ref.cells = [_cell(run.reference_path(u), demo_dir, REFERENCE_DIR, u, subtype, math.nan) for u in utterances]
    rows = [ref]
    for s in grouped_systems(run):  # a codec family's bitrates next to each other
        info = run.system_info(s)
        kbps = info.get("nominal_kbps")
        row = DemoRow(s, str(info.get("description") or ""), f"{kbps:g} kbps" if isinstance(kbps, (int, float)) else "")
        row.cells = [_cell(run.audio_path(s, u), demo_dir, run.audio_dir(s), u, subtype, run.value(s, BITRATE, u))
                     for u in utterances]
        rows.append(row)
    return rows


__all__ = ["DEMO_FORMATS", "DemoCell", "DemoRow", "build_demo", "choose_utterances"]
