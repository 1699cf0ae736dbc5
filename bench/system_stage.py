"""The system stage's unit of work: a batch of utterances of similar length, run anywhere.

The runner cuts the utterances a system still has to process into :class:`SystemBatch` es (sorted by
length, so a batching system pads little), an executor runs :func:`run_batch` on them wherever the
system lives (this process, or a Ray actor), and the runner writes the outputs it gets back.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.audio import fit_length, resample, resampled_length, resampling_record
from bench.errors import RETRY, environmental
from bench.runfolder.wav import read_run_wav
from systems import System, SystemOutput


@dataclass(frozen=True)
class SystemBatch:
    """Utterances to process together.

    Attributes:
        ids: utterance ids.
        reference_paths: their references in the run folder at the run's evaluation rate (same order).
    """

    ids: tuple[str, ...]
    reference_paths: tuple[str, ...]


@dataclass
class BatchResult:
    """Per utterance: the output, or the error text (``"ValueError: ..."``; it starts with
    :data:`bench.errors.RETRY` when the machine failed, not the system); and seconds spent."""

    outputs: list[SystemOutput | str]
    seconds: list[float]


def length_batches(items: Sequence[tuple[str, str, int]], batch_size: int) -> list[SystemBatch]:
    """Cut ``(id, reference_path, n_samples)`` items into batches of similar length.

    Items are sorted by (length, id), so the cut is deterministic and each batch holds neighbours in
    length; the padding a batching system adds stays small (it is the system's to remove).
    """
    ordered = sorted(items, key=lambda it: (it[2], it[0]))
    size = max(1, batch_size)
    return [SystemBatch(tuple(i for i, _, _ in ordered[k:k + size]), tuple(p for _, p, _ in ordered[k:k + size]))
            for k in range(0, len(ordered), size)]


def to_system_rate(system: System, audio: np.ndarray, rate: int) -> np.ndarray:
    """``[T]`` at the evaluation ``rate`` -> the system's own rate (identity when they match)."""
    return resample(audio, rate, system.sample_rate)


def boundary_resampling(system: System, rate: int) -> list[dict[str, object]]:
    """The resampling at a system's boundary in a run at ``rate``: one record per direction where the rates
    differ (none for a system at the evaluation rate)."""
    return [resampling_record(a, b) for a, b in ((rate, system.sample_rate), (system.output_rate, rate)) if a != b]


def from_system_rate(system: System, out: SystemOutput, rate: int, n: int) -> SystemOutput:
    """The system's output back at the evaluation ``rate``, ``n`` samples; the resampling is noted in info."""
    steps = boundary_resampling(system, rate)
    if system.output_rate != rate:
        out.audio = fit_length(resample(np.asarray(out.audio, dtype=np.float32), system.output_rate, rate), n)
    if steps:
        out.info = {**out.info, "resampled_at_boundary": ", ".join(f"{s['from']} -> {s['to']} Hz" for s in steps)}
    return out


def run_batch(system: System, batch: SystemBatch) -> BatchResult:
    """Process one batch at the system's own rate (the runner's audio is resampled at its boundary, once
    each way where the rates differ); if the batch fails, retry item by item so only the failing item(s) fail."""
    read = [read_run_wav(p) for p in batch.reference_paths]
    lengths = [len(a) for a, _ in read]
    rate = read[0][1] if read else system.sample_rate
    audios = [to_system_rate(system, a, sr) for a, sr in read]
    result = _run(system, batch, audios)
    expected = [resampled_length(len(a), system.sample_rate, system.output_rate) for a in audios]
    result.outputs = [o if isinstance(o, str) or len(o.audio) != m else from_system_rate(system, o, rate, n)
                      for o, m, n in zip(result.outputs, expected, lengths)]  # a wrong length is the runner's to report
    return result


def _run(system: System, batch: SystemBatch, audios: list[np.ndarray]) -> BatchResult:
    try:
        t0 = time.monotonic()
        outs = list(system.process_batch(audios, utterance_ids=list(batch.ids)))
        if len(outs) != len(audios):
            raise RuntimeError(f"process_batch returned {len(outs)} outputs for {len(audios)} inputs")
        return BatchResult(list(outs), [(time.monotonic() - t0) / len(audios)] * len(audios))
    except Exception:  # noqa: BLE001 - isolate the failing item(s)
        results: list[SystemOutput | str] = []
        seconds: list[float] = []
        for uid, audio in zip(batch.ids, audios):
            t0 = time.monotonic()
            try:
                results.append(system.process(audio, utterance_id=uid))
            except Exception as exc:  # noqa: BLE001 - the item fails with its reason, the others go on
                retry = RETRY if environmental(exc) else ""  # a failure of the machine is not stored
                results.append(f"{retry}{exc.__class__.__name__}: {exc}")
            seconds.append(time.monotonic() - t0)
        return BatchResult(results, seconds)
