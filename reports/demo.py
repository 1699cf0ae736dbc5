"""The demo page (like the ScoreDec paper's): one section per utterance, one player per system.

The page is built for listening comparisons: one player plays at a time, switching system keeps the
playback position (an A/B toggle, also from the keyboard), each player has its spectrogram (with axes;
click to enlarge) and that utterance's metric values from results.csv, and each utterance has a full-size
spectrogram grid on one colour scale. The reference is shown once; the natural system and the anchors are
hidden unless asked for (``--demo-systems``).

The folder is self-contained: audio copied into ``demo/audio/``, images into ``demo/img/``, only relative
links (plus the links the author adds), no external resources, so it can be copied to any static host.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np
import soundfile as sf

from bench.atomic import atomic_path
from bench.errors import UsageError
from bench.runfolder import evaluation_rate
from bench.runfolder.paths import system_dir
from reports.display import css_colour, metric_name, system_colours, system_names
from reports.options import DemoOptions, check_link
from reports.ratequality import grouped_systems
from reports.roles import SYSTEM, role
from reports.rundata import BITRATE, Run, read_audio
from reports.spectrograms import Thumbnails, log_spectrogram, spectrogram_grid

#: WAV subtypes for the copied audio (the demo formats).
SUBTYPES = {"pcm16": "PCM_16", "float": "FLOAT"}
REFERENCE_DIR = "_reference"
GRID_DIR = "_grids"
#: Per-utterance metrics next to each player (those the run has), then the achieved bitrate.
DEFAULT_DEMO_METRICS = ("pesq_wb", "si_sdr")


@dataclass
class DemoCell:
    """One player: relative links (URL-quoted), this utterance's metric values, or why it is missing."""

    system: str
    audio: str = ""
    image: str = ""
    #: the display name (:mod:`reports.display`) and the colour of the system in the plots (``#rrggbb``)
    label: str = ""
    colour: str = ""
    duration: float = 0.0
    clipped: int = 0
    missing: str = ""
    metrics: list[dict[str, str]] = field(default_factory=list)


@dataclass
class DemoUtterance:
    """One section of the page: an utterance, its players (reference first) and its spectrogram grid."""

    id: str
    speaker: str
    gender: str
    text: str
    grid: str
    cells: list[DemoCell] = field(default_factory=list)


@dataclass
class DemoSystem:
    """A legend entry."""

    name: str
    description: str
    nominal_kbps: str
    #: the display name and the colour of the system in the plots
    label: str = ""
    colour: str = ""


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


def choose_systems(run: Run, requested: tuple[str, ...] | None) -> list[str]:
    """The requested systems (checked, in the order given), else every system under test (the natural one and
    anchors hidden), a codec family's bitrates next to each other."""
    if requested:
        unknown = [s for s in requested if s not in run.systems]
        if unknown:
            raise UsageError(f"--demo-systems: unknown system(s) {', '.join(unknown)}; this run has "
                             f"{', '.join(run.systems)}")
        return list(requested)
    return [s for s in grouped_systems(run) if role(run, s) == SYSTEM]


def choose_metrics(run: Run, requested: tuple[str, ...] | None) -> list[str]:
    """Metrics next to each player (checked), then the bitrate when the run has it."""
    if requested:
        unknown = [m for m in requested if m not in run.metrics and m != BITRATE]
        if unknown:
            raise UsageError(f"demo metrics: unknown metric(s) {', '.join(unknown)}; this run has "
                             f"{', '.join(run.metrics)}")
        chosen = [m for m in requested if m != BITRATE]
    else:
        chosen = [m for m in DEFAULT_DEMO_METRICS if m in run.metrics] or run.metrics[:2]
    return [*chosen, *([BITRATE] if any(r.metric == BITRATE for r in run.rows) else [])]


def check_options(run: Run, options: DemoOptions) -> None:
    """Raise UsageError for demo options that do not fit the run, before anything is written."""
    if options.format not in SUBTYPES:
        raise UsageError(f"--demo-format: {options.format!r} is not one of {', '.join(SUBTYPES)}")
    if options.utterances:
        choose_utterances(run, list(options.utterances))
    choose_systems(run, options.systems)
    choose_metrics(run, options.metrics)
    for label, url in options.links:
        check_link(label, url)
    if any(system_dir(s) in (REFERENCE_DIR, GRID_DIR) for s in run.systems):
        raise UsageError(f"a system's folder name collides with the demo's {REFERENCE_DIR!r} or {GRID_DIR!r} folder")


def _link(*parts: str) -> str:
    return "/".join(quote(p) for part in parts for p in part.split("/"))


def _copy(src: Path, dest: Path, subtype: str) -> tuple[np.ndarray, int, int] | None:
    """Copy a WAV in the demo format (atomically). Returns (the audio as copied ``[T]``, rate, clipped
    samples) or None when unreadable."""
    audio = read_audio(src)
    if audio is None:
        return None
    x, sr = audio
    clipped = int(np.count_nonzero(np.abs(x) > 1.0)) if subtype == "PCM_16" else 0
    with atomic_path(dest) as tmp:
        sf.write(str(tmp), np.clip(x, -1.0, 1.0) if subtype == "PCM_16" else x, sr, subtype=subtype, format="WAV")
    copied = read_audio(dest)
    assert copied is not None
    return copied[0], sr, clipped


def _metric_text(metric: str, value: float, unit: str) -> str:
    if not math.isfinite(value):
        return "failed"
    digits = 1 if metric == BITRATE or abs(value) >= 100 else 2
    return f"{value:.{digits}f}{' ' + unit if unit else ''}"


def _metric_entries(run: Run, system: str | None, utt: str, metrics: list[str]) -> list[dict[str, str]]:
    if system is None:
        return []
    out = []
    for m in metrics:
        row = run.row(utt, system, m)
        if row is None or row.not_applicable:
            continue
        unit = "kbps" if m == BITRATE else str(run.metric_info(m).get("unit") or "")
        out.append({"metric": m, "label": metric_name(m), "value": repr(row.value), "text": _metric_text(m, row.value, unit),
                    "error": row.error})
    return out


def build_demo(run: Run, demo_dir: Path, options: DemoOptions, grids: dict[str, Path] | None = None,
               ) -> tuple[list[DemoUtterance], list[DemoSystem], list[str], set[Path]]:
    """Copy audio and draw images into ``demo_dir``.

    Args:
        grids: utterance -> an existing spectrogram-grid PNG to copy (the report's); others are drawn.
    Returns:
        the page's utterance sections, the legend, the metrics shown and every file written.
    """
    check_options(run, options)
    subtype = SUBTYPES[options.format]
    utts = choose_utterances(run, list(options.utterances) if options.utterances else None, options.per_speaker,
                             options.limit)
    systems = choose_systems(run, options.systems)
    metrics = choose_metrics(run, options.metrics)
    items = {str(it.get("id")): it for it in (run.info.get("corpus", {}) or {}).get("items", []) or []}
    written: set[Path] = set()
    sections = []
    with Thumbnails() as thumbs:
        for u in utts:
            sections.append(_section(run, demo_dir, u, systems, metrics, subtype, (grids or {}).get(u), thumbs,
                                     items.get(u, {}), written))
    rate = evaluation_rate(run.info.get("config"))
    names, colours = system_names(run), system_colours(run)
    legend = [DemoSystem("reference", f"The reference as evaluated ({rate / 1000:g} kHz).", "", "Reference")]
    for s in systems:
        info = run.system_info(s)
        kbps = info.get("nominal_kbps")
        legend.append(DemoSystem(s, str(info.get("description") or ""),
                                 f"{kbps:g} kbps" if isinstance(kbps, (int, float)) else "", names[s],
                                 css_colour(colours[s])))
    return sections, legend, metrics, written


def _section(run: Run, demo_dir: Path, u: str, systems: list[str], metrics: list[str], subtype: str,
             grid: Path | None, thumbs: Thumbnails, item: dict, written: set[Path]) -> DemoUtterance:
    """One utterance: audio copies, thumbnails on the reference's colour scale, the grid, the metric values."""
    rel_grid = f"img/{GRID_DIR}/{u}.png"
    if grid is not None and grid.is_file():
        with atomic_path(demo_dir / rel_grid) as tmp:
            shutil.copyfile(grid, tmp)
        written.add(demo_dir / rel_grid)
    else:
        written.update(spectrogram_grid(run, u, systems, demo_dir / rel_grid.removesuffix(".png"),
                                        formats=("png",)))
    section = DemoUtterance(u, run.speakers.get(u, ""), str(item.get("gender") or ""),
                            str(item.get("text") or ""), _link(rel_grid))
    entries = [("reference", REFERENCE_DIR, run.reference_path(u), None),
               *[(s, run.audio_dir(s), run.audio_path(s, u), s) for s in systems]]
    copies: list[tuple[DemoCell, np.ndarray | None, int]] = []
    names, colours = system_names(run), system_colours(run)
    for name, folder, src, sys_name in entries:
        rel_audio = f"audio/{folder}/{u}.wav"
        copied = _copy(src, demo_dir / rel_audio, subtype)
        cell = DemoCell(name, metrics=_metric_entries(run, sys_name, u, metrics),
                        label=names[sys_name] if sys_name else "Reference",
                        colour=css_colour(colours[sys_name]) if sys_name else "")
        if copied is None:
            cell.missing = f"no audio ({src.name} missing or unreadable)"
            copies.append((cell, None, 0))
            continue
        x, sr, cell.clipped = copied
        cell.audio, cell.duration = _link(rel_audio), x.size / sr
        written.add(demo_dir / rel_audio)
        copies.append((cell, x, sr))
    # thumbnails of one utterance share the reference's colour scale
    ref_x = copies[0][1]
    vmax = None if ref_x is None else float(log_spectrogram(ref_x, copies[0][2]).max())
    for (cell, x, sr), (_, folder, _, _) in zip(copies, entries):
        if x is None:
            continue
        rel_img = f"img/{folder}/{u}.png"
        written.add(thumbs.draw(x, sr, demo_dir / rel_img, vmax=vmax))
        cell.image = _link(rel_img)
    section.cells = [c for c, _, _ in copies]
    return section


__all__ = ["DEFAULT_DEMO_METRICS", "SUBTYPES", "DemoCell", "DemoOptions", "DemoSystem", "DemoUtterance", "build_demo",
           "check_options", "choose_metrics", "choose_systems", "choose_utterances"]
