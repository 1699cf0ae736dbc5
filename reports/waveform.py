"""The waveform-similarity figure: the reference with each system overlaid in a short voiced window.

This is the paper's visual argument that a codec keeps (or loses) the original phase: magnitude-only
metrics cannot show it, an overlay of waveforms in a 25 ms window can.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from bench.errors import UsageError
from reports.display import system_colours, system_names
from reports.figures import colour, new_figure, save
from reports.rundata import Run, read_audio

#: Systems never overlaid (they are the reference itself).
REFERENCE_SYSTEMS = ("natural", "reference")


def _frames(x: np.ndarray, length: int, hop: int) -> np.ndarray:
    """``[N, length]`` frames of ``[T]`` (N >= 1; a short signal is zero-padded)."""
    if x.size < length:
        x = np.pad(x, (0, length - x.size))
    n = 1 + (x.size - length) // hop
    idx = np.arange(length)[None, :] + hop * np.arange(n)[:, None]
    return x[idx]


def voicing(frames: np.ndarray, sample_rate: int, f0_range: tuple[float, float] = (60.0, 400.0)) -> np.ndarray:
    """Periodicity of each frame: the peak normalised autocorrelation over pitch lags, in [0, 1].

    Args:
        frames: ``[N, L]``.
    Returns:
        ``[N]``.
    """
    length = frames.shape[1]
    f = frames - frames.mean(axis=1, keepdims=True)
    nfft = 1 << int(np.ceil(np.log2(2 * length)))
    spec = np.fft.rfft(f * np.hanning(length)[None, :], nfft, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, nfft, axis=1)[:, :length]
    lo = max(1, int(sample_rate / f0_range[1]))
    hi = min(length - 1, int(sample_rate / f0_range[0]))
    if hi <= lo:
        return np.zeros(frames.shape[0])
    peak = ac[:, lo:hi].max(axis=1)
    return np.clip(peak / np.maximum(ac[:, 0], 1e-12), 0.0, 1.0)


def pick_window(x: np.ndarray, sample_rate: int, window_ms: float) -> int:
    """Start sample of a voiced, high-energy window of ``window_ms``.

    Frames of the window length (hop a fifth of it) are scored by energy times periodicity among frames
    that are both in the loudest half and clearly periodic (voicing >= 0.5); without such frames the
    loudest frame wins.

    Args:
        x: ``[T]`` reference waveform.
    """
    length = max(16, round(window_ms * 1e-3 * sample_rate))
    hop = max(1, length // 5)
    frames = _frames(x.astype(np.float64), length, hop)
    energy = (frames**2).mean(axis=1)
    # pitch analysis over twice the window, centred on it (more robust for low voices)
    padded = np.pad(x.astype(np.float64), (length // 2, length // 2 + length))
    v = voicing(_frames(padded, 2 * length, hop)[: len(energy)], sample_rate)
    ok = (energy >= np.median(energy)) & (v >= 0.5)
    score = np.where(ok, energy * v, -1.0)
    best = int(np.argmax(score)) if ok.any() else int(np.argmax(energy))
    return min(best * hop, max(0, x.size - length))


def family(name: str) -> str:
    """A system's family: its leading letters (``opus_spf`` and ``opus+spf`` -> ``opus``, ``anchor35`` -> ``anchor``)."""
    m = re.match(r"[A-Za-z]+", name)
    return m.group(0).lower() if m else name


def default_panels(systems: list[str]) -> list[list[str]]:
    """Panels by family: each family with several members gets its own panel, the single-member
    families share one (``audiodec, symad, scoredec, opus, opus_spf`` -> ``[[audiodec, symad, scoredec],
    [opus, opus_spf]]``); all in one panel when no family has several members. The reference is left out."""
    overlay = [s for s in systems if s not in REFERENCE_SYSTEMS]
    groups: dict[str, list[str]] = {}
    for s in overlay:
        groups.setdefault(family(s), []).append(s)
    singles = [g[0] for g in groups.values() if len(g) == 1]
    multi = [g for g in groups.values() if len(g) > 1]
    panels = ([singles] if singles else []) + multi
    if not multi:
        return [overlay] if overlay else []
    first = {s: i for i, s in enumerate(overlay)}
    return sorted(panels, key=lambda p: first[p[0]])


def parse_panels(spec: str, systems: list[str]) -> list[list[str]]:
    """``"audiodec,symad,scoredec;opus,opus_spf"`` -> panels; unknown names are a usage error."""
    panels = [[s.strip() for s in part.split(",") if s.strip()] for part in spec.split(";")]
    panels = [p for p in panels if p]
    unknown = [s for p in panels for s in p if s not in systems]
    if unknown:
        raise UsageError(f"--panels: unknown system(s) {', '.join(unknown)}; this run has {', '.join(systems)}")
    if not panels:
        raise UsageError("--panels: no system named")
    return panels


def waveform_figure(run: Run, utt: str, panels: list[list[str]], window_ms: float, stem: Path) -> tuple[list[Path], str]:
    """Draw the figure for one utterance. Returns (paths written, caption naming the window and gaps)."""
    ref_path = run.reference_path(utt)
    got_ref = read_audio(ref_path)
    if got_ref is None:
        raise FileNotFoundError(f"{ref_path}: reference missing or unreadable")
    ref, sr = got_ref
    start = pick_window(ref, sr, window_ms)
    length = round(window_ms * 1e-3 * sr)
    seg = slice(start, start + length)
    t_ms = (np.arange(start, min(start + length, ref.size)) / sr) * 1e3
    missing: list[str] = []
    fig, axes = new_figure(6.0, 1.6 * max(1, len(panels)) + 0.3, nrows=max(1, len(panels)), sharex=True)
    names, colours = system_names(run), system_colours(run)
    for ax, panel in zip(axes[:, 0], panels or [[]]):
        ax.plot(t_ms, ref[seg], color="black", linewidth=1.6, label="Reference")
        for s in panel:
            out = read_audio(run.audio_path(s, utt))
            if out is None:
                missing.append(s)
                continue
            y = out[0]
            part = np.full(t_ms.size, np.nan, dtype=np.float32)  # a short output leaves a gap, not an error
            got = y[seg][: t_ms.size]
            part[: got.size] = got
            ax.plot(t_ms, part, color=colours.get(s, colour(0)), linewidth=1.0, label=names.get(s, s))
        ax.set_ylabel("amplitude")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("time [ms]")
    axes[0, 0].set_title(f"{utt}: {window_ms:g} ms window at {start / sr:.3f} s")
    caption = f"Utterance {utt}, {window_ms:g} ms from {start / sr:.3f} s (voiced, high energy, chosen automatically)."
    if missing:
        caption += f" No audio for: {', '.join(sorted(set(missing)))}."
    return save(fig, stem), caption


__all__ = ["REFERENCE_SYSTEMS", "default_panels", "family", "parse_panels", "pick_window", "voicing", "waveform_figure"]
