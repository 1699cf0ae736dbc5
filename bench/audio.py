"""Input audio: reading, validation and resampling shared by corpora, systems and metrics.

The suite's own WAVs (a run folder's references and outputs) are read and written by
:mod:`bench.runfolder.wav`; alignment is :mod:`bench.alignment`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from bench.errors import InputError

SAMPLE_RATE = 48000
#: the library and quality of every resampling in the suite (recorded in run.json).
RESAMPLER_LIBRARY, RESAMPLER_QUALITY = "soxr", "VHQ"
RESAMPLER = f"{RESAMPLER_LIBRARY} {RESAMPLER_QUALITY}"


@dataclass
class LoadedAudio:
    """A validated mono waveform at the evaluation rate (48 kHz unless asked otherwise).

    Attributes:
        audio: ``[T]`` float32.
        source_rate: the file's sample rate before resampling.
        channels: the file's channel count (before any downmix).
        resampled: whether the waveform was resampled.
    """

    audio: np.ndarray
    source_rate: int
    channels: int
    resampled: bool


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """High-quality resampling (soxr VHQ) of ``[T]`` float32; identity when the rates match."""
    if sr_in == sr_out:
        return x.astype(np.float32, copy=False)
    return soxr.resample(x.astype(np.float32, copy=False), sr_in, sr_out,
                         quality=RESAMPLER_QUALITY).astype(np.float32)


def resampled_length(n: int, sr_in: int, sr_out: int) -> int:
    """Samples that ``n`` samples at ``sr_in`` last at ``sr_out`` (what :func:`resample` returns, rounded)."""
    return n if sr_in == sr_out else round(n * sr_out / sr_in)


def resampling_record(sr_in: int, sr_out: int) -> dict[str, object]:
    """One resampling step as run.json records it: ``{"from", "to", "library", "quality"}``."""
    return {"from": int(sr_in), "to": int(sr_out), "library": RESAMPLER_LIBRARY, "quality": RESAMPLER_QUALITY}


def load_input(
    path: str | Path,
    *,
    downmix: bool = False,
    min_duration: float = 0.25,
    min_sample_rate: int = 16000,
    sample_rate: int = SAMPLE_RATE,
) -> LoadedAudio:
    """Read and validate one corpus file, returning mono float32 at ``sample_rate`` (default 48 kHz).

    Raises:
        InputError: naming the file and the problem (unreadable, empty, multichannel without
            ``downmix``, sample rate too low, too short, NaN/inf samples, digital silence).
    """
    path = Path(path)
    if path.exists() and not path.is_file():  # a FIFO is not opened: reading it could block for ever
        kind = "a folder" if path.is_dir() else "a FIFO" if path.is_fifo() else "a device or socket"
        raise InputError(f"{path}: not a regular file ({kind})")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file (0 bytes)")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # noqa: BLE001 - soundfile raises several types for non-audio content
        raise InputError(f"{path}: cannot be read as audio ({exc.__class__.__name__}: {exc})") from None
    frames, channels = data.shape
    if frames == 0:
        raise InputError(f"{path}: empty file (0 samples)")
    if channels > 1 and not downmix:
        raise InputError(f"{path}: {channels} channels; the suite evaluates mono (pass --downmix to average them)")
    if sr < min_sample_rate:
        raise InputError(
            f"{path}: sample rate {sr} Hz is below {min_sample_rate} Hz; a 48 kHz evaluation of it would be "
            "meaningless (resample it yourself if you really mean to)"
        )
    if not np.all(np.isfinite(data)):
        raise InputError(f"{path}: contains NaN or infinite samples")
    x = data.mean(axis=1) if channels > 1 else data[:, 0]
    duration = frames / sr
    if duration < min_duration:
        raise InputError(f"{path}: {duration:.3f} s is shorter than the minimum {min_duration} s")
    if not np.any(x):
        raise InputError(f"{path}: digital silence (every sample is zero)")
    y = resample(x, sr, sample_rate)
    return LoadedAudio(y, sr, channels, sr != sample_rate)


def read_mono(path: str | Path, sample_rate: int) -> np.ndarray:
    """Any readable file as mono (channel mean) float32 ``[T]`` at ``sample_rate`` (soxr VHQ), unvalidated.

    For training data; corpus inputs go through :func:`load_input`, which validates.
    """
    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return resample(x.mean(axis=1), sr, sample_rate)


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fit_length(x: np.ndarray, length: int) -> np.ndarray:
    """Crop or zero-pad ``[T]`` to ``length`` samples."""
    if len(x) >= length:
        return x[:length]
    return np.pad(x, (0, length - len(x)))
