"""The EnCodec systems: ``encodec`` (24 kHz model) and ``encodec_48k`` (48 kHz model).

Each works at its model's rate (24000 or 48000 Hz: the runner resamples at the system's boundary only when
the evaluation rate differs) and returns mono audio of the input's length; the models' outputs are
time-aligned with their inputs, so there is no delay to remove.

- ``encodec``: each utterance is zero-padded to whole 320-sample frames, so a batch (padded to its
  longest member) codes every utterance exactly as it would be coded alone: the model is causal.
- ``encodec_48k``: the mono signal is fed to both channels of the stereo model and the two decoded
  channels are averaged. Utterances are cut into the model's 1 s segments; segments of equal length
  from all utterances of a batch are coded together, so every output equals the package's own
  ``encode``/``decode`` of the utterance alone. Each segment's RMS scale is sent as a float32 (32 bits).

Bits are counted from the codes: ``frames x codebooks x 10`` (+ 32 per segment for the 48 kHz model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from systems.encodec.checkpoint import RELEASES
from systems.encodec.presets import PRESETS
from systems.options import option
from systems.released import Coded, ReleasedCodecSystem, length_groups

#: bits per segment spent on the 48 kHz model's RMS scale (a float32, as in EnCodec's bitstream).
SCALE_BITS = 32


@dataclass(frozen=True)
class EncodecOptions:
    """``encodec@12k``, ``encodec[kbps=12]``, ``encodec_48k@24k``."""

    kbps: float = option(6.0, unit="kbps", min=1.5, max=24,
                         help="bandwidth: 1.5, 3, 6, 12 or 24 (the 48 kHz model: 3, 6, 12 or 24)")


class EncodecSystem(ReleasedCodecSystem):
    """One EnCodec model at one bandwidth (kbit/s, one of the model's modes)."""

    preset: ClassVar[str]
    Options = EncodecOptions
    shorthand = "kbps"

    def _check_options(self) -> None:
        self.kbps = float(self.options.kbps)
        if self.kbps not in PRESETS[self.preset].bandwidths:
            known = ", ".join(f"{b:g}" for b in PRESETS[self.preset].bandwidths)
            raise ValueError(f"{self.kind}: no {self.kbps:g} kbps mode (known: {known})")
        self.nominal_kbps = self.kbps
        self.description = self.description.replace("at 6 kbps", f"at {self.kbps:g} kbps")

    def _load(self, path: Path) -> None:
        from systems.encodec.checkpoint import load_model

        self.model = load_model(path, self.preset, self.settings.device)
        self.n_q = self.model.codebooks_for(self.kbps)

    def _run_segments(self, segments: list[np.ndarray]) -> list[Any]:
        """Code and decode mono ``[L]`` pieces, one model segment each, batching equal lengths.

        Returns:
            one decoded ``[channels, ceil(L / hop) * hop]`` CPU tensor per piece.
        """
        import torch

        m, out = self.model, [None] * len(segments)
        for idx in length_groups([len(s) for s in segments], self.settings.batch_size):
            x = torch.from_numpy(np.stack([segments[i] for i in idx]))[:, None, :]
            x = x.expand(-1, m.config.channels, -1).to(self.settings.device)
            with torch.inference_mode():
                coded = m.encode_segment(x, self.n_q)
                y = m.decode_segment(coded).cpu()
            for row, i in enumerate(idx):
                out[i] = y[row]
        return out

    def _code(self, audios: list[np.ndarray]) -> list[Coded]:
        from systems.encodec.model import overlap_add

        m = self.model
        if m.segment_length is None:  # causal 24 kHz model: whole utterances, padded to whole frames
            padded = [np.pad(a, (0, -len(a) % m.hop)) for a in audios]
            longest = max(len(p) for p in padded)
            decoded = self._run_segments([np.pad(p, (0, longest - len(p))) for p in padded])
            pieces = [[d] for d in decoded]
            bounds = [[(0, len(p))] for p in padded]
        else:
            bounds = [m.segment_bounds(len(a)) for a in audios]
            flat = self._run_segments([a[s:e] for a, bs in zip(audios, bounds) for s, e in bs])
            pieces, k = [], 0
            for bs in bounds:
                pieces.append(flat[k : k + len(bs)])
                k += len(bs)
        out = []
        for a, bs, frames in zip(audios, bounds, pieces):
            y = frames[0] if len(frames) == 1 else overlap_add(frames, m.segment_stride or 1)
            y = y.mean(dim=0)[: len(a)]
            n_frames = sum(math.ceil((e - s) / m.hop) for s, e in bs)
            side = SCALE_BITS * len(bs) if m.config.normalize else 0
            bits = n_frames * self.n_q * m.quantizer.bits_per_codebook + side
            info: dict[str, Any] = {"codebooks": self.n_q, "frames": n_frames, "segments": len(bs)}
            out.append(Coded(y.numpy().astype(np.float32), float(bits), info))
        return out

    def provenance(self) -> dict[str, Any]:
        cfg = PRESETS[self.preset]
        return {
            **self._provenance(),
            "model": self.preset,
            "kbps": self.kbps,
            "codebooks": self.n_q,
            "frame_rate": self.model.frame_rate,
            "segment_s": cfg.segment_s,
            "channels": "mono fed to both channels, outputs averaged" if cfg.channels == 2 else "mono",
            "delay_samples": 0,
        }


class Encodec24k(EncodecSystem):
    """The causal 24 kHz model (1.5, 3, 6, 12, 24 kbps)."""

    kind: ClassVar[str] = "encodec"
    preset: ClassVar[str] = "encodec_24khz"
    model_rate: ClassVar[int] = 24000
    weights = RELEASES["encodec_24khz"]
    nominal_kbps: float | None = 6.0
    description: ClassVar[str] = "EnCodec 24 kHz (causal) at 6 kbps, official weights"


class Encodec48k(EncodecSystem):
    """The 48 kHz stereo model (3, 6, 12, 24 kbps), 1 s segments with RMS normalisation."""

    kind: ClassVar[str] = "encodec_48k"
    preset: ClassVar[str] = "encodec_48khz"
    model_rate: ClassVar[int] = 48000
    weights = RELEASES["encodec_48khz"]
    nominal_kbps: float | None = 6.0
    description: ClassVar[str] = "EnCodec 48 kHz (non-causal, 1 s segments) at 6 kbps, official weights"
