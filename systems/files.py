"""``files:NAME=DIR``: outputs produced elsewhere, matched to utterances by id.

Each utterance ``ID`` is looked up as ``DIR/ID.wav`` (or .flac/.ogg), then ``DIR/<basename of ID>.*``.
The adapter works at the run's evaluation rate (each file is resampled to it once, where its rate differs)
and only matches lengths, through :func:`bench.alignment.match_length` and the run's alignment policy (its
window in samples at that rate): differences up to 0.5 s (a codec's delay left in the file) are resolved by
the suite's correlation search in a widened window, or, under ``--align none``, by cropping or padding at
the end (the offset is recorded in the item's info); larger differences and missing files are per-item
errors.

Bitrate: ``files:NAME@6k=DIR`` (or ``files:NAME=DIR[kbps=6]``) declares a nominal bitrate; the system is
then named ``files:NAME@6k`` and belongs to the rate-quality family ``files:NAME``, so several folders of
one codec at different rates are one curve. The bits each utterance spent are read from ``bitrates.csv``
or ``bitrates.json`` in DIR when there (see :func:`read_bitrates`); without one, an utterance of
duration ``d`` is counted at the nominal rate (``kbps * 1000 * d`` bits). ``frame_rate`` and
``codebooks`` (with ``codebook_size``) describe a token codec; when ``kbps`` is not given they set it to
``frame_rate * codebooks * log2(codebook_size) / 1000``.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.alignment import AlignPolicy, match_length
from bench.audio import load_input, sha256_file
from bench.corpora import AUDIO_EXTENSIONS
from systems.base import RunSettings, System, SystemOutput
from systems.options import option

#: per-utterance bits beside the outputs, looked up in this order
BITRATE_FILES = ("bitrates.csv", "bitrates.json")


@dataclass(frozen=True)
class FilesOptions:
    """``files:mine@6k=DIR``, ``files:mine=DIR[kbps=6]``, ``files:mine=DIR[frame_rate=75,codebooks=8]``."""

    kbps: float | None = option(None, unit="kbps", min=0, help="nominal bitrate of the outputs (none: "
                                "from frame_rate and codebooks, else no bitrate); bitrates.csv/json in DIR "
                                "gives each utterance's bits")
    frame_rate: float | None = option(None, unit="Hz", min=0, help="token frames per second of the codec")
    codebooks: int | None = option(None, min=1, help="codebooks (quantiser stages) per frame")
    codebook_size: int = option(1024, min=2, help="entries per codebook (log2 of it = bits per code)")


def nominal_kbps(options: FilesOptions) -> float | None:
    """The declared bitrate: ``kbps``, else ``frame_rate * codebooks * log2(codebook_size) / 1000``."""
    if options.kbps is not None:
        return float(options.kbps)
    if options.frame_rate is not None and options.codebooks is not None:
        return options.frame_rate * options.codebooks * math.log2(options.codebook_size) / 1000.0
    return None


def read_bitrates(path: Path) -> dict[str, tuple[str, float]]:
    """Per-utterance bits from ``bitrates.csv`` or ``bitrates.json``: ``{id: ("bits"|"kbps", value)}``.

    CSV: a header row with ``id`` and ``bits`` (total bits spent on the utterance) or ``kbps`` (bits /
    duration / 1000); other columns are ignored. JSON: an object ``{"ID": {"bits": N}}`` or
    ``{"ID": {"kbps": x}}`` (a bare number is bits). IDs are corpus ids or their basenames, as the audio
    files are named. Raises ValueError naming the file and the row.
    """
    table: dict[str, tuple[str, float]] = {}

    def put(key: str, unit: str, value: Any, where: str) -> None:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{path}: {where}: {unit} is not a number: {value!r}") from None
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"{path}: {where}: {unit} must be a finite number >= 0, not {value!r}")
        if key in table:
            raise ValueError(f"{path}: {where}: id {key!r} appears twice")
        table[key] = (unit, number)

    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: not readable JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f'{path}: expected an object {{"ID": {{"bits": N}}, ...}}')
        for key, entry in data.items():
            if isinstance(entry, dict):
                units = [u for u in ("bits", "kbps") if u in entry]
                if len(units) != 1:
                    raise ValueError(f"{path}: {key!r}: give exactly one of bits, kbps")
                put(str(key), units[0], entry[units[0]], repr(key))
            else:
                put(str(key), "bits", entry, repr(key))
        return table
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        columns = [c.strip() for c in reader.fieldnames or []]
        reader.fieldnames = columns
        units = [u for u in ("bits", "kbps") if u in columns]
        if "id" not in columns or len(units) != 1:
            raise ValueError(f"{path}: the header must have an id column and one of bits, kbps "
                             f"(got {', '.join(columns) or 'nothing'})")
        for line, row in enumerate(reader, start=2):
            put(str(row["id"]).strip(), units[0], row[units[0]], f"line {line}")
    return table


class FilesSystem(System):
    """Evaluate audio that some other tool produced (one file per utterance, any rate >= 16 kHz, mono)."""

    kind = "files"
    reads_files = True
    description = "Outputs produced elsewhere (files adapter)"
    any_rate = True
    Options = FilesOptions
    shorthand = "kbps"

    def __init__(self, settings: RunSettings, name: str, directory: Path, options: FilesOptions | None = None
                 ) -> None:
        super().__init__(settings, name=name, options=options)
        self.directory = directory
        self.nominal_kbps = nominal_kbps(self.options)
        rate = f", {self.nominal_kbps:g} kbps" if self.nominal_kbps is not None else ""
        self.description = f"Files from {directory}{rate}"
        self.align_policy = AlignPolicy()
        self.bitrate_file = next((directory / n for n in BITRATE_FILES if (directory / n).is_file()), None)
        self.bitrates = read_bitrates(self.bitrate_file) if self.bitrate_file else {}

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

    def _bits(self, utterance_id: str, n_samples: int) -> tuple[float | None, str | None]:
        """(bits spent on the utterance, where that came from) for ``n_samples`` of reference audio."""
        seconds = n_samples / self.sample_rate
        if self.bitrate_file is not None:
            for key in (utterance_id, Path(utterance_id).name):
                if key in self.bitrates:
                    unit, value = self.bitrates[key]
                    return (value if unit == "bits" else value * 1000.0 * seconds), self.bitrate_file.name
            raise ValueError(f"{self.bitrate_file}: no row for utterance {utterance_id!r}")
        if self.nominal_kbps is not None:
            return self.nominal_kbps * 1000.0 * seconds, "nominal kbps"
        return None, None

    def process(self, audio: np.ndarray, *, utterance_id: str) -> SystemOutput:
        path = self._find(utterance_id)
        bits, bits_from = self._bits(utterance_id, len(audio))
        loaded = load_input(path, min_duration=0.0, sample_rate=self.sample_rate)
        try:
            y, offset = match_length(audio, loaded.audio, self.align_policy, self.sample_rate)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        info: dict[str, Any] = {"file": str(path), "sha256": sha256_file(path), "source_rate": loaded.source_rate,
                                "resampled": loaded.resampled, "length_diff_samples": len(loaded.audio) - len(audio),
                                "offset_samples": offset}
        if bits_from is not None:
            info["bits_from"] = bits_from
        return SystemOutput(audio=y.astype(np.float32), bits=bits, info=info)

    def provenance(self) -> dict[str, Any]:
        out: dict[str, Any] = {"directory": str(self.directory), "nominal_kbps": self.nominal_kbps}
        if self.bitrate_file is not None:
            out["bitrates_file"] = {"path": str(self.bitrate_file), "sha256": sha256_file(self.bitrate_file)}
        return out
