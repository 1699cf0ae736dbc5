"""``files:NAME=DIR``: outputs produced elsewhere, matched to utterances by id.

Each utterance ``ID`` is looked up as ``DIR/ID.wav`` (or .flac/.ogg), then ``DIR/<basename of ID>.*``.
Length differences up to 0.5 s are resolved by cross-correlation alignment, then crop or zero-pad
(recorded in the item's info); larger differences and missing files are per-item errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.audio import SAMPLE_RATE, estimate_lag, fit_length, load_input, sha256_file, shift
from bench.corpora import AUDIO_EXTENSIONS
from systems.base import RunSettings, System, SystemOutput

MAX_LENGTH_DIFF_S = 0.5


class FilesSystem(System):
    """Evaluate audio that some other tool produced (one file per utterance, any rate >= 16 kHz, mono)."""

    kind = "files"
    description = "Outputs produced elsewhere (files adapter)"

    def __init__(self, settings: RunSettings, name: str, directory: Path, options: object = None) -> None:
        super().__init__(settings, name=name, options=options)
        self.directory = directory
        self.description = f"Files from {directory}"

    @classmethod
    def from_spec(cls, arg: str | None, settings: RunSettings, name: str, options: object) -> System:
        if not arg or "=" not in arg:
            raise ValueError("files needs NAME=DIR, e.g. --systems files:mycodec=/path/to/outputs")
        label, _, directory = arg.partition("=")
        if not label or not directory:
            raise ValueError(f"files:{arg}: needs NAME=DIR")
        path = Path(directory).expanduser()
        if not path.is_dir():
            raise ValueError(f"files:{arg}: {path} is not a folder")
        return cls(settings, name=name, directory=path, options=options)

    def _find(self, utterance_id: str) -> Path:
        stems = [utterance_id, Path(utterance_id).name]
        for stem in stems:
            for ext in AUDIO_EXTENSIONS:
                p = self.directory / f"{stem}{ext}"
                if p.is_file():
                    return p
        raise FileNotFoundError(f"no output for utterance {utterance_id!r} in {self.directory} "
                                f"(looked for {utterance_id}{{{','.join(AUDIO_EXTENSIONS)}}})")

    def process(self, audio: np.ndarray, *, utterance_id: str) -> SystemOutput:
        path = self._find(utterance_id)
        loaded = load_input(path, min_duration=0.0)
        y = loaded.audio
        diff = len(y) - len(audio)
        if abs(diff) > MAX_LENGTH_DIFF_S * SAMPLE_RATE:
            raise ValueError(f"{path}: length {len(y) / SAMPLE_RATE:.3f} s differs from the reference "
                             f"{len(audio) / SAMPLE_RATE:.3f} s by more than {MAX_LENGTH_DIFF_S} s")
        info: dict[str, Any] = {"file": str(path), "sha256": sha256_file(path), "source_rate": loaded.source_rate,
                                "resampled": loaded.resampled, "length_diff_samples": diff, "offset_samples": 0}
        if diff != 0:
            y = fit_length(y, max(len(y), len(audio)))
            ref = fit_length(audio, len(y))
            lag = estimate_lag(ref, y, max_lag=abs(diff) + SAMPLE_RATE // 50)
            y = fit_length(shift(y, lag), len(audio))
            info["offset_samples"] = lag
        return SystemOutput(audio=y.astype(np.float32), bits=None, info=info)

    def provenance(self) -> dict[str, Any]:
        return {"directory": str(self.directory)}
