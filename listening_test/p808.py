"""P.808 gold-standard and trapping questions for ACR tests.

* Gold questions have a known answer: ``gold_reference`` is the clean reference (expected 4 or 5) and
  ``gold_degraded`` a strongly degraded copy (1 kHz low-pass plus noise at 0 dB SNR; expected 1 or 2).
* A trapping question (``trap_<k>``) is a stimulus followed by a spoken request to answer ``k``; the
  message is spoken by espeak-ng in the test's language, or taken from ``--trap-audio DIR``
  (``select_<k>.wav``).

They are ordinary stimuli of an item, named by their condition, so every rating keeps its meaning in the
database and the CSV; the statistics leave them out and post-screening reads them.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from scipy import signal

from bench.errors import InputError, UsageError

GOLD_REFERENCE = "gold_reference"
GOLD_DEGRADED = "gold_degraded"
TRAP_PREFIX = "trap_"
#: acceptable answers of the gold questions (P.808: the clean reference is "good" or "excellent")
GOLD_EXPECTED = {GOLD_REFERENCE: (4, 5), GOLD_DEGRADED: (1, 2)}
ESPEAK_VOICES = {"en": "en", "de": "de"}


def is_check_condition(system: str) -> bool:
    """True for gold and trap conditions (not part of the statistics)."""
    return system in GOLD_EXPECTED or system.startswith(TRAP_PREFIX)


def trap_answer(system: str) -> int | None:
    """The answer a trap condition asks for (``trap_2`` -> 2), else ``None``."""
    if not system.startswith(TRAP_PREFIX):
        return None
    try:
        return int(system[len(TRAP_PREFIX):])
    except ValueError:
        return None


def strongly_degraded(reference: np.ndarray, sample_rate: int, seed: int) -> np.ndarray:
    """``[T]`` the reference low-passed at 1 kHz (zero phase) plus white noise at 0 dB SNR."""
    sos = signal.butter(8, 1000, fs=sample_rate, output="sos")
    y = signal.sosfiltfilt(sos, reference)
    noise = np.random.default_rng(seed).standard_normal(len(y))
    power = float(np.mean(y ** 2)) or 1e-8
    return y + noise * np.sqrt(power / np.mean(noise ** 2))


def spoken_message(text: str, lang: str, sample_rate: int, trap_audio: Path | None, answer: int) -> np.ndarray:
    """``[T]`` the trap message at ``sample_rate``: ``trap_audio/select_<answer>.wav`` or espeak-ng."""
    if trap_audio is not None:
        path = Path(trap_audio) / f"select_{answer}.wav"
        if not path.is_file():
            raise InputError(f"{path}: missing trap message (needed for a trap asking for {answer})")
        x, sr = sf.read(path, dtype="float64", always_2d=True)
        return soxr.resample(x.mean(axis=1), sr, sample_rate)
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise UsageError("trap questions need espeak-ng (apt-get install espeak-ng) or --trap-audio DIR with "
                         "select_1.wav ... select_5.wav")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "message.wav"
        subprocess.run([exe, "-v", ESPEAK_VOICES.get(lang, "en"), "-s", "150", "-w", str(wav), text],
                       check=True, capture_output=True, timeout=60)
        x, sr = sf.read(wav, dtype="float64", always_2d=True)
    return soxr.resample(x.mean(axis=1), sr, sample_rate)


def gold_signals(index: int, n_items: int, reference: np.ndarray, sample_rate: int, seed: int) -> dict[str, np.ndarray]:
    """The gold conditions item ``index`` carries: the clean one in the first item, the degraded one in
    the second (the first as well when there is only one)."""
    out: dict[str, np.ndarray] = {}
    if index == 0:
        out[GOLD_REFERENCE] = reference.copy()
    if index == min(1, n_items - 1):
        out[GOLD_DEGRADED] = strongly_degraded(reference, sample_rate, seed)
    return out


def add_trap(out: Path, item, base_file: str, answer: int, message: np.ndarray, sample_rate: int, stimulus_id: str,
             target_lufs: float):
    """Write ``base_file`` + 300 ms pause + ``message`` as a new stimulus of ``item`` asking for ``answer``."""
    from listening_test.definition import Stimulus
    from listening_test.stimuli import apply_fades, loudness, match_loudness

    base, _ = sf.read(out / base_file, dtype="float64")
    scaled, _, gains = match_loudness({"m": apply_fades(message, sample_rate)}, sample_rate, target_lufs)
    y = np.concatenate([base, np.zeros(int(0.3 * sample_rate)), scaled["m"]])
    y = y / max(1.0, float(np.max(np.abs(y))) / 0.89)  # keep below -1 dBFS
    rel = f"audio/{item.id}/{stimulus_id}.wav"
    sf.write(out / rel, y, sample_rate, subtype="PCM_16")
    stim = Stimulus(id=stimulus_id, system=f"{TRAP_PREFIX}{answer}", file=rel, gain_db=round(gains["m"], 2),
                    loudness_lufs=round(loudness(y, sample_rate), 2))
    item.stimuli.append(stim)
    return stim
