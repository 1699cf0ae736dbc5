"""Audio I/O, validation and resampling shared by corpora, systems and metrics (alignment: bench.alignment)."""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from bench.errors import InputError

SAMPLE_RATE = 48000
#: soxr quality used for every resampling in the suite (recorded in run.json).
RESAMPLER = "soxr VHQ"


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
    return soxr.resample(x.astype(np.float32, copy=False), sr_in, sr_out, quality="VHQ").astype(np.float32)


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
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file (0 bytes)")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types for non-audio content
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


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a mono wav written by the suite: ``([T]`` float32, rate)."""
    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return x[:, 0], sr


def wav_bytes(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """A 32-bit float WAVE file (``[T]`` mono or ``[T, C]``): RIFF with fmt, fact and data chunks only.

    Written here rather than by libsndfile, whose float files carry a PEAK chunk with a timestamp: the same
    samples give the same bytes, run after run. Readable by soundfile, scipy and any WAVE float reader.
    """
    x = np.ascontiguousarray(audio, dtype="<f4")
    channels = 1 if x.ndim == 1 else int(x.shape[1])
    data = x.tobytes()
    if len(data) > 0xFFFFFFFF - 64:
        raise ValueError(f"{len(data)} bytes of audio do not fit a WAVE file (4 GiB)")
    block = 4 * channels
    fmt = struct.pack("<HHIIHHH", 3, channels, sample_rate, sample_rate * block, block, 32, 0)  # IEEE float
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"fact" + struct.pack("<II", 4, x.shape[0])
            + b"data" + struct.pack("<I", len(data)) + data)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _umask() -> int:
    """The process umask (read without changing it where the system allows)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder, fsync, rename: a kill never leaves half a file.

    The file gets the mode any new file gets (0666 less the umask), not the temporary file's 0600.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o666 & ~_umask())
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_wav_atomic(path: Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write a 32-bit float wav (:func:`wav_bytes`) atomically."""
    _write_atomic(path, wav_bytes(audio, sample_rate))


def write_text_atomic(path: Path, text: str) -> None:
    """Write a small text file atomically (temporary file, fsync, rename)."""
    _write_atomic(path, text.encode("utf-8"))


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
