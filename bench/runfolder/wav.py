"""The suite's own audio files: 48 kHz mono float32 WAVs under ``reference/`` and ``audio/<sysdir>/``.

Every reader of a run folder's audio (metric stage, merge, reports, listening tests) goes through
:func:`read_run_wav`; every writer through :func:`write_run_wav`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from bench.audio import SAMPLE_RATE, read_wav, write_wav_atomic
from bench.errors import InputError


def read_run_wav(path: str | Path) -> np.ndarray:
    """``[T]`` float32 mono from a run folder's WAV (channels averaged if a tool wrote several).

    Raises:
        InputError: naming the file when it is missing, unreadable, not at 48 kHz or not finite.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: missing audio file")
    try:
        x, sr = read_wav(path, mono=True)
    except (RuntimeError, OSError, ValueError, sf.LibsndfileError) as exc:  # damaged or not audio
        raise InputError(f"{path}: cannot be read ({exc.__class__.__name__}: {exc})") from None
    if sr != SAMPLE_RATE:
        raise InputError(f"{path}: sample rate {sr} Hz, the run folder format requires {SAMPLE_RATE} Hz")
    if not np.all(np.isfinite(x)):
        raise InputError(f"{path}: contains NaN or infinite samples")
    return x


def write_run_wav(path: str | Path, audio: np.ndarray) -> None:
    """Write ``[T]`` audio as a 48 kHz float32 WAV atomically (a kill never leaves half a file)."""
    write_wav_atomic(Path(path), audio, SAMPLE_RATE)
