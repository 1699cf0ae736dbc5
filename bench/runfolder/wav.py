"""The suite's own audio files: mono float32 WAVs under ``reference/`` and ``audio/<sysdir>/`` at the run's
evaluation rate (48 kHz unless ``bench run --sample-rate`` chose another of :data:`RUN_RATES`).

Every writer of a run folder's audio (the runner) goes through :func:`write_run_wav`, every reader (system and
metric stages, alignment, merge, reports, listening tests) through :func:`read_run_wav`.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import soundfile as sf

from bench.atomic import write_bytes_atomic
from bench.audio import SAMPLE_RATE
from bench.errors import InputError

#: the evaluation rates a run folder's WAVs may have (``bench run --sample-rate``)
RUN_RATES = (16000, 24000, 44100, 48000)


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


def write_run_wav(path: str | Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write ``[T]`` (or ``[T, C]``) audio as a float32 WAV (:func:`wav_bytes`) atomically: a kill never
    leaves half a file, and the same samples always give the same bytes. Returns ``path``."""
    return write_bytes_atomic(path, wav_bytes(audio, sample_rate))


def read_run_wav(path: str | Path, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """``([T]`` float32 mono, rate) from a run folder's WAV (channels averaged if a tool wrote several).

    Args:
        sample_rate: the rate the caller needs (the run's evaluation rate); None accepts any of
            :data:`RUN_RATES`.

    Raises:
        InputError: naming the file when it is missing, unreadable, at another rate or not finite.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: missing audio file")
    try:
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, OSError, ValueError, sf.LibsndfileError) as exc:  # damaged or not audio
        raise InputError(f"{path}: cannot be read ({exc.__class__.__name__}: {exc})") from None
    if sample_rate is not None and sr != sample_rate:
        raise InputError(f"{path}: sample rate {sr} Hz, {sample_rate} Hz needed here")
    if sample_rate is None and sr not in RUN_RATES:
        raise InputError(f"{path}: sample rate {sr} Hz is not one a run folder holds "
                         f"({', '.join(map(str, RUN_RATES))})")
    y = x.mean(axis=1) if x.shape[1] > 1 else x[:, 0]
    if not np.all(np.isfinite(y)):
        raise InputError(f"{path}: contains NaN or infinite samples")
    return y, int(sr)


__all__ = ["RUN_RATES", "read_run_wav", "wav_bytes", "write_run_wav"]
