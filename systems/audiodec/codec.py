"""A loaded AudioDec codec: the encoder (+ projector + quantizer) of one checkpoint and the decoder or
vocoder of another, with batched offline and chunked streaming coding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from systems.audiodec.generator import Generator
from systems.audiodec.vocoder import Vocoder


@dataclass
class CodecResult:
    """Output of :meth:`Codec.code` for one batch.

    Attributes:
        audio: one ``[T_i]`` float32 array per input, cropped and aligned to the input.
        bits: bits spent per input (codebooks x frames x log2(codebook size)).
        frames: code frames per input.
    """

    audio: list[np.ndarray]
    bits: list[float]
    frames: list[int]


class Codec:
    """Encoder from ``analyzer``, decoder from ``synth`` (a :class:`Generator` or a :class:`Vocoder`).

    Args:
        analyzer: generator whose encoder, projector and quantizer make the codes.
        synth: generator (its ``decoder`` is used) or vocoder.
        delay: output delay in samples removed from the output (measured; 0 for an aligned model).
    """

    def __init__(self, analyzer: Generator, synth: Generator | Vocoder, delay: int = 0) -> None:
        if analyzer.hop != synth.hop:
            raise ValueError(f"encoder hop {analyzer.hop} != decoder hop {synth.hop}")
        self.analyzer = analyzer
        self.synth = synth
        self.hop = analyzer.hop
        self.delay = int(delay)
        q = analyzer.quantizer
        self.bits_per_frame = q.codebook_num * math.log2(q.codebook_size)

    def _decode(self, zq: torch.Tensor) -> torch.Tensor:
        if isinstance(self.synth, Vocoder):
            return self.synth(zq)
        return self.synth.decoder(zq)

    def _stream(self, x: torch.Tensor) -> torch.Tensor:
        """Chunk-by-chunk (one hop each) encode and decode of ``[B, 1, T]`` (T a multiple of hop)."""
        self.analyzer.reset_streams()
        self.synth.reset_streams()
        outs = []
        for start in range(0, x.shape[-1], self.hop):
            codes = self.analyzer.stream_encode(x[:, :, start : start + self.hop])
            zq = self.analyzer.quantizer.decode(codes)
            outs.append(
                self.synth.stream(zq) if isinstance(self.synth, Vocoder) else self.synth.decoder.stream(zq)
            )
        self.analyzer.reset_streams()
        self.synth.reset_streams()
        return torch.cat(outs, dim=-1)

    def run(self, x: torch.Tensor, streaming: bool = False) -> torch.Tensor:
        """``[B, 1, T]`` (T a multiple of hop) -> ``[B, 1, T]`` decoded, without delay compensation."""
        with torch.inference_mode():
            if streaming:
                return self._stream(x)
            zq, _, _ = self.analyzer.encode(x)
            return self._decode(zq)

    def code(self, audios: list[np.ndarray], device: str, streaming: bool = False) -> CodecResult:
        """Code a batch: pad to the longest (plus the delay, rounded up to a hop), run, crop each."""
        lengths = [len(a) for a in audios]
        total = math.ceil((max(lengths) + self.delay) / self.hop) * self.hop
        batch = np.zeros((len(audios), 1, total), dtype=np.float32)
        for i, a in enumerate(audios):
            batch[i, 0, : len(a)] = a
        y = self.run(torch.from_numpy(batch).to(device), streaming=streaming).cpu().numpy()
        out, bits, frames = [], [], []
        for i, n in enumerate(lengths):
            out.append(np.ascontiguousarray(y[i, 0, self.delay : self.delay + n], dtype=np.float32))
            f = math.ceil(n / self.hop)
            frames.append(f)
            bits.append(f * self.bits_per_frame)
        return CodecResult(out, bits, frames)


def _xcorr(reference: np.ndarray, decoded: np.ndarray, max_lag: int) -> np.ndarray:
    """Normalised cross-correlation of ``decoded`` against ``reference`` for lags 0..max_lag."""
    from scipy.signal import correlate

    n = min(len(reference), len(decoded))
    ref, dec = reference[:n].astype(np.float64), decoded[:n].astype(np.float64)
    corr = correlate(dec, ref, mode="full", method="fft")  # index n - 1 + lag
    norm = np.linalg.norm(ref) * np.linalg.norm(dec) or 1.0
    return corr[n - 1 : n + max_lag] / norm


def measure_delay(reference: np.ndarray, decoded: np.ndarray, max_lag: int) -> int:
    """Lag (samples, 0..max_lag) maximising the cross-correlation of ``decoded`` with ``reference``."""
    return int(np.argmax(_xcorr(reference, decoded, max_lag)))


def _envelope(x: np.ndarray, width: int = 96) -> np.ndarray:
    """RMS envelope (moving window of ``width`` samples), mean removed."""
    env = np.sqrt(np.convolve(x.astype(np.float64) ** 2, np.ones(width) / width, mode="same"))
    return env - env.mean()


def measure_common_delay(references: list[np.ndarray], decoded: list[np.ndarray], max_lag: int) -> int:
    """One lag for several utterances: the peak of their summed envelope cross-correlations.

    Correlating RMS envelopes (2 ms windows at 48 kHz) rather than waveforms, and summing over
    utterances, avoids locking onto a pitch-period side peak of voiced speech, whose waveform
    correlation can exceed the true one when the codec's phase is off.
    """
    total = sum(_xcorr(_envelope(r), _envelope(d), max_lag) for r, d in zip(references, decoded))
    return int(np.argmax(total))
