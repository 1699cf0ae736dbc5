"""The system stage's unit of work: a batch of utterances of similar length, run anywhere.

The runner cuts the utterances a system still has to process into :class:`SystemBatch` es (sorted by
length, so a batching system pads little), an executor runs :func:`run_batch` on them wherever the
system lives (this process, or a Ray actor), and the runner writes the outputs it gets back.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.audio import read_wav
from systems import System, SystemOutput


@dataclass(frozen=True)
class SystemBatch:
    """Utterances to process together.

    Attributes:
        ids: utterance ids.
        reference_paths: their 48 kHz references in the run folder (same order).
    """

    ids: tuple[str, ...]
    reference_paths: tuple[str, ...]


@dataclass
class BatchResult:
    """Per utterance: the output, or the error text (``"ValueError: ..."``); and seconds spent."""

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


def run_batch(system: System, batch: SystemBatch) -> BatchResult:
    """Process one batch; if the batch fails, retry item by item so only the failing item(s) fail."""
    audios = [read_wav(p)[0] for p in batch.reference_paths]
    try:
        t0 = time.monotonic()
        outs = list(system.process_batch(audios, utterance_ids=list(batch.ids)))
        if len(outs) != len(audios):
            raise RuntimeError(f"process_batch returned {len(outs)} outputs for {len(audios)} inputs")
        return BatchResult(list(outs), [(time.monotonic() - t0) / len(audios)] * len(audios))
    except Exception:  # isolate the failing item(s)
        results: list[SystemOutput | str] = []
        seconds: list[float] = []
        for uid, audio in zip(batch.ids, audios):
            t0 = time.monotonic()
            try:
                results.append(system.process(audio, utterance_id=uid))
            except Exception as exc:
                results.append(f"{exc.__class__.__name__}: {exc}")
            seconds.append(time.monotonic() - t0)
        return BatchResult(results, seconds)
