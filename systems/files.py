"""``files:NAME=DIR``: outputs produced elsewhere, matched to utterances by id.

Each utterance ``ID`` is looked up as ``DIR/ID.wav`` (or .flac/.ogg), then ``DIR/<basename of ID>.*``.
The adapter works at the run's evaluation rate (each file is resampled to it once, where its rate differs)
and only matches lengths, through :func:`bench.alignment.match_length` and the run's alignment policy (its
window in samples at that rate): differences up to 0.5 s (a codec's delay left in the file) are resolved by
the suite's correlation search in a widened window, or, under ``--align none``, by cropping or padding at
the end (the offset is recorded in the item's info); larger differences and missing files are per-item
errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.alignment import AlignPolicy, match_length
from bench.audio import load_input, sha256_file
from bench.corpora import AUDIO_EXTENSIONS
from systems.base import RunSettings, System, SystemOutput


class FilesSystem(System):
    """Evaluate audio that some other tool produced (one file per utterance, any rate >= 16 kHz, mono)."""

    kind = "files"
    reads_files = True
    description = "Outputs produced elsewhere (files adapter)"
    any_rate = True

    def __init__(self, settings: RunSettings, name: str, directory: Path, options: object = None) -> None:
        super().__init__(settings, name=name, options=options)
        self.directory = directory
        self.description = f"Files from {directory}"
        self.align_policy = AlignPolicy()

    def use_alignment(self, policy: AlignPolicy) -> None:
        self.align_policy = policy

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

    def output_file(self, utterance_id: str) -> Path | None:
        try:
            return self._find(utterance_id)
        except FileNotFoundError:
            return None

    def process(self, audio: np.ndarray, *, utterance_id: str) -> SystemOutput:
        path = self._find(utterance_id)
        loaded = load_input(path, min_duration=0.0, sample_rate=self.sample_rate)
        try:
            y, offset = match_length(audio, loaded.audio, self.align_policy, self.sample_rate)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        info: dict[str, Any] = {"file": str(path), "sha256": sha256_file(path), "source_rate": loaded.source_rate,
                                "resampled": loaded.resampled, "length_diff_samples": len(loaded.audio) - len(audio),
                                "offset_samples": offset}
        return SystemOutput(audio=y.astype(np.float32), bits=None, info=info)

    def provenance(self) -> dict[str, Any]:
        return {"directory": str(self.directory)}
