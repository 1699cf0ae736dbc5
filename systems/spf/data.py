"""Training pairs for the SPF: sample-aligned (clean, coded) waveforms, cached on disk, and random crops.

Coded audio is produced by running a registered system (``systems.build_system``) on each clean file
and cached as ``<cache>/<system>-<provenance hash>/<utterance id>.flac`` (24-bit), so re-training on the
same data with the same codec build does not re-run the codec, and new codec weights never reuse stale audio.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from bench.audio import fit_length, read_mono, resample

AUDIO_SUFFIXES = (".wav", ".flac")


@dataclass
class Utterance:
    """A clean training file."""

    id: str
    path: Path


@dataclass
class Pair:
    """One training pair at 48 kHz, equal lengths: ``clean [T]``, ``coded [T]``, and the codec's name."""

    clean: np.ndarray
    coded: np.ndarray
    codec: str
    utt_id: str


def folder_utterances(folder: Path) -> list[Utterance]:
    """Every wav/flac under ``folder`` (sorted), ids from the relative path."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"--data {folder}: not a folder")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"--data {folder}: no .wav/.flac files found")
    return [Utterance(p.relative_to(folder).with_suffix("").as_posix(), p) for p in files]


def open_utterances(spec: str, exclude_speakers: tuple[str, ...] = ()) -> list[Utterance]:
    """``--data SPEC``: a plain folder of wav/flac, or any corpus spec of ``bench.corpora.open_corpus``
    (``demo``, ``folder:PATH``, ``vctk:PATH`` (every speaker), ``manifest:FILE.csv``), without the utterances
    of ``exclude_speakers`` (corpus specs only: a plain folder has no speakers)."""
    if Path(spec).is_dir():
        if exclude_speakers:
            raise ValueError(f"--data {spec}: a plain folder has no speakers to exclude; use folder:{spec}")
        return folder_utterances(Path(spec))
    from bench.corpora import CorpusOptions, open_corpus

    corpus = open_corpus(spec, CorpusOptions(split="all") if spec.startswith("vctk:") else None)
    utts = [Utterance(str(u.id), Path(u.path)) for u in corpus.utterances() if u.speaker not in exclude_speakers]
    if not utts:
        raise ValueError(f"--data {spec}: no utterances left after excluding speakers {list(exclude_speakers)}")
    return utts


def cache_name(utt_id: str) -> str:
    """A file-name-safe form of an utterance id."""
    return re.sub(r"[^\w.-]+", "_", utt_id)


def estimate_lag(clean: np.ndarray, coded: np.ndarray, max_lag: int) -> int:
    """Lag (samples) by which ``coded`` trails ``clean``, from the cross-correlation peak within +-max_lag."""
    n = len(clean) + len(coded)
    size = 1 << (n - 1).bit_length()
    xc = np.fft.irfft(np.fft.rfft(coded, size) * np.conj(np.fft.rfft(clean, size)), size)
    lags = np.concatenate([xc[: max_lag + 1], xc[-max_lag:]])
    idx = int(np.argmax(lags))
    return idx if idx <= max_lag else idx - len(lags)


def common_lag(pairs: list[tuple[np.ndarray, np.ndarray]], max_lag: int) -> int:
    """One lag for many (clean, coded) pairs: the peak of their summed normalised cross-correlations
    (robust where per-file peaks jump to pitch side lobes on poor codecs)."""
    acc = np.zeros(2 * max_lag + 1)
    for clean, coded in pairs:
        x, c = clean.astype(np.float64), coded.astype(np.float64)
        norm = np.sqrt(np.dot(x, x) * np.dot(c, c))
        if norm == 0:
            continue
        size = 1 << (len(x) + len(c) - 1).bit_length()
        xc = np.fft.irfft(np.fft.rfft(c, size) * np.conj(np.fft.rfft(x, size)), size)
        acc += np.concatenate([xc[-max_lag:], xc[: max_lag + 1]]) / norm
    return int(np.argmax(acc)) - max_lag


def align(
    clean: np.ndarray, coded: np.ndarray, max_lag: int = 960, lag: int | None = None
) -> tuple[np.ndarray, int]:
    """``coded`` shifted to match ``clean`` sample for sample (zero-filled), same length, and the lag.

    ``lag`` None: estimated from this pair's cross-correlation; otherwise that lag is applied.
    """
    if len(coded) != len(clean):
        coded = np.pad(coded, (0, max(0, len(clean) - len(coded))))[: len(clean)]
    if lag is None:
        lag = estimate_lag(clean.astype(np.float64), coded.astype(np.float64), max_lag)
    if lag > 0:
        coded = np.concatenate([coded[lag:], np.zeros(lag, dtype=coded.dtype)])
    elif lag < 0:
        coded = np.concatenate([np.zeros(-lag, dtype=coded.dtype), coded[:lag]])
    return coded.astype(np.float32), lag


def build_pairs(
    codecs: list[str], utterances: list[Utterance], cache_dir: Path, sample_rate: int, device: str = "cpu",
    log=print, weights_dir: Path | None = None,
) -> list[Pair]:
    """Run each codec on each utterance (or read its cache) and return aligned pairs.

    ``weights_dir``: an official AudioDec ``exp/`` folder for the AudioDec codecs (None: the demo weights)."""
    from systems import RunSettings, build_system

    pairs: list[Pair] = []
    for codec in codecs:
        system = build_system(codec, RunSettings(device=device, weights_dir=weights_dir))
        system.use_rate(sample_rate)  # a codec at another rate is resampled to it and back, once each way
        # the cache is keyed by the system's provenance (weights sha256, library versions, settings)
        key = hashlib.sha256(json.dumps(system.provenance(), sort_keys=True, default=str).encode()).hexdigest()
        folder = Path(cache_dir) / f"{cache_name(codec)}-{key[:12]}"
        folder.mkdir(parents=True, exist_ok=True)
        raw: list[tuple[Utterance, np.ndarray, np.ndarray]] = []
        for utt in utterances:
            clean = read_mono(utt.path, sample_rate)
            cached = folder / f"{cache_name(utt.id)}.flac"
            if cached.is_file():
                coded = read_mono(cached, sample_rate)
            else:
                out = system.process(resample(clean, sample_rate, system.sample_rate), utterance_id=utt.id)
                coded = fit_length(resample(np.asarray(out.audio, dtype=np.float32), system.output_rate,
                                            sample_rate), len(clean))
                sf.write(str(cached), np.clip(coded, -1, 1), sample_rate, subtype="PCM_24")
            raw.append((utt, clean, coded))
        # a codec's delay is one constant: per-file peaks scatter on poor codecs, the summed one does not
        lag = common_lag([(c, y) for _, c, y in raw], 960)
        for utt, clean, coded in raw:
            pairs.append(Pair(clean, align(clean, coded, lag=lag)[0], codec, utt.id))
        log(f"{codec}: {len(utterances)} pairs; residual delay {lag} samples corrected")
    return pairs


def random_crops(
    pairs: list[Pair], batch: int, n_samples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``batch`` random crops: (clean ``[B, n]``, coded ``[B, n]``), each normalised by its utterance's coded peak."""
    clean = np.zeros((batch, n_samples), dtype=np.float32)
    coded = np.zeros((batch, n_samples), dtype=np.float32)
    for b in range(batch):
        p = pairs[int(rng.integers(len(pairs)))]
        peak = float(np.max(np.abs(p.coded))) or 1.0
        if len(p.clean) > n_samples:
            s = int(rng.integers(len(p.clean) - n_samples + 1))
            clean[b], coded[b] = p.clean[s : s + n_samples], p.coded[s : s + n_samples]
        else:
            clean[b, : len(p.clean)], coded[b, : len(p.coded)] = p.clean, p.coded
        clean[b] /= peak
        coded[b] /= peak
    return clean, coded
