"""The AudioDec systems under test: ``symad``, ``audiodec_stage1`` and ``audiodec``.

Each codes a batch on ``settings.device`` under ``torch.inference_mode``, pads to the longest utterance
and crops every output to its input length (after removing the measured model delay), and returns the
bits counted from the codes.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from systems.audiodec.weights import MODES, RELEASE
from systems.base import RunSettings, System, SystemOutput, SystemUnavailable
from systems.options import option

#: Algorithmic latency of the hop-320 causal codec: one frame (320 samples at 48 kHz) must be buffered.
HOP320_LATENCY_MS = 320 / 48000 * 1000
_MANIFEST = Path(__file__).parent / "weights" / "manifest.json"
#: the demo-weights note of ``weights=auto`` is printed once per process
_DEMO_NOTE_SHOWN = False


def _demo_latency(kind: str) -> str:
    """ "x ms algorithmic latency" of the demo weights: one hop plus the delay measured on them."""
    try:
        delay = int(json.loads(_MANIFEST.read_text())["delay_samples"][kind])
    except (OSError, KeyError, ValueError):
        return f"{HOP320_LATENCY_MS:.1f} ms frame latency"
    total = HOP320_LATENCY_MS + delay / 48
    return (
        f"{total:.1f} ms algorithmic latency with the demo weights: 320-sample frame + {delay}-sample delay"
    )


@dataclass(frozen=True)
class AudioDecOptions:
    """Options of the AudioDec systems."""

    weights: str = option(
        "auto", choices=MODES,
        help="auto: --checkpoint/--weights, else the official release (downloaded on first use when the "
             "system is named in --systems and not --offline), else the shipped demo weights; official: always "
             "the release; demo: always the demo weights (no network)")


class AudioDecSystem(System):
    """Common machinery; subclasses set ``kind`` and the decoder kind."""

    libraries = ("torch",)
    Options = AudioDecOptions
    #: the official release: ``weights=auto`` downloads it on first use when the system is named in
    #: ``--systems`` (``--systems all`` and ``--offline`` keep the demo weights until it is cached)
    optional_downloads: ClassVar[tuple[str, ...]] = (RELEASE,)

    deterministic: ClassVar[bool] = True
    sample_rate: int = 48000
    nominal_kbps: float | None = 24.0

    def __init__(self, settings: RunSettings, name: str | None = None, options: object = None) -> None:
        super().__init__(settings, name, options)
        from systems.audiodec.checkpoint import load_model
        from systems.audiodec.codec import Codec
        from systems.audiodec.generator import Generator

        self.choice = self._choose(settings, self.options.weights)
        if self.choice.source == "demo" and self.options.weights == "auto":
            self._demo_note()
        analyzer, acfg = load_model(self.choice.encoder, settings.device)
        synth, _ = load_model(self.choice.decoder, settings.device)
        if not isinstance(analyzer, Generator):
            raise SystemUnavailable(f"{self.choice.encoder}: not an autoencoder checkpoint")
        if self.kind != "audiodec" and not isinstance(synth, Generator):
            raise SystemUnavailable(f"{self.choice.decoder}: not an autoencoder checkpoint")
        if self.kind == "audiodec" and isinstance(synth, Generator):
            raise SystemUnavailable(f"{self.choice.decoder}: not a vocoder checkpoint")
        self.codec = Codec(analyzer, synth, delay=self.choice.delay)
        self.sample_rate = acfg.sampling_rate
        self.nominal_kbps = self.codec.bits_per_frame * self.sample_rate / self.codec.hop / 1000
        self.latency_ms = (self.codec.hop + self.codec.delay) / self.sample_rate * 1000
        rate = f"{self.nominal_kbps:g} kbps"
        self.description = (
            f"{self._label} {rate}, causal, {self.latency_ms:.1f} ms algorithmic latency "
            f"({self.codec.hop}-sample frame + {self.codec.delay}-sample delay)"
        )
        if self.choice.source == "demo":
            self.description += " (demo weights)"
        for note in self.choice.notes:
            self.description += f"; {note}"

    _label: ClassVar[str] = "AudioDec"

    def _demo_note(self) -> None:
        """One line on stderr (once per process): ``weights=auto`` fell back to the demo weights, why, and how to
        get the release."""
        from bench.downloads import is_offline

        global _DEMO_NOTE_SHOWN
        if _DEMO_NOTE_SHOWN:
            return
        _DEMO_NOTE_SHOWN = True
        if is_offline():
            why, how = "offline and the official release is not cached", "on a machine with internet run"
        else:
            why, how = "not named in --systems: `--systems all` downloads nothing", "name them in --systems or run"
        print(f"note: the AudioDec systems here run the shipped demo weights ({why}); for the official release "
              f"{how} `bench download {RELEASE}`", file=sys.stderr)

    @classmethod
    def _choose(cls, settings: RunSettings, mode: str = "auto") -> Any:
        from systems.audiodec.weights import choose_weights

        try:
            return choose_weights(cls.kind, settings.weights_dir, settings.checkpoints.get(cls.kind), mode=mode,
                                  fetch=settings.fetch_release)
        except (FileNotFoundError, ValueError) as exc:
            raise SystemUnavailable(str(exc)) from exc

    @classmethod
    def unavailable_reason(cls, settings: RunSettings) -> str | None:
        if importlib.util.find_spec("torch") is None:  # not imported: `bench systems` stays fast
            return "PyTorch is not installed (pip install torch)"
        try:
            cls._choose(replace(settings, fetch_release=False))  # never downloads: `bench systems` stays offline
        except SystemUnavailable as exc:
            return str(exc)
        return None

    def process(self, audio: np.ndarray, *, utterance_id: str) -> SystemOutput:
        return self.process_batch([audio], utterance_ids=[utterance_id])[0]

    def process_batch(self, audios: list[np.ndarray], *, utterance_ids: list[str]) -> list[SystemOutput]:
        res = self.codec.code(
            [np.asarray(a, dtype=np.float32).reshape(-1) for a in audios],
            self.settings.device,
            streaming=self.settings.streaming,
        )
        return [
            SystemOutput(
                audio=y,
                bits=b,
                info={
                    "frames": f,
                    "delay_compensated": self.codec.delay,
                    "streaming": self.settings.streaming,
                },
            )
            for y, b, f in zip(res.audio, res.bits, res.frames)
        ]

    def provenance(self) -> dict[str, Any]:
        from bench.audio import sha256_file

        files = {"encoder": self.choice.encoder, "decoder": self.choice.decoder}
        return {
            "weights": self.choice.source,
            "files": {k: str(v) for k, v in files.items()},
            "sha256": {k: sha256_file(Path(v)) for k, v in files.items()},
            "nominal_kbps": self.nominal_kbps,
            "hop": self.codec.hop,
            "delay_samples": self.codec.delay,
            "algorithmic_latency_ms": round(self.latency_ms, 3),
            "streaming": self.settings.streaming,
            "notes": self.choice.notes,
        }


class SymAD(AudioDecSystem):
    """Encoder, quantizer and the adversarially trained (stage-2) symmetric decoder."""

    kind: ClassVar[str] = "symad"
    _label: ClassVar[str] = "AudioDec symAD"
    description: ClassVar[str] = f"AudioDec symAD 24 kbps (causal; {_demo_latency('symad')})"


class AudioDecStage1(AudioDecSystem):
    """Encoder, quantizer and the stage-1 (metric losses only) decoder: ScoreDec's input."""

    kind: ClassVar[str] = "audiodec_stage1"
    _label: ClassVar[str] = "AudioDec stage-1 autoencoder"
    description: ClassVar[str] = (
        f"AudioDec stage-1 autoencoder 24 kbps (causal; {_demo_latency('audiodec_stage1')})"
    )


class AudioDec(AudioDecSystem):
    """Encoder and quantizer decoded by the multi-group HiFi-GAN vocoder."""

    kind: ClassVar[str] = "audiodec"
    _label: ClassVar[str] = "AudioDec (HiFi-GAN vocoder)"
    description: ClassVar[str] = (
        "AudioDec with HiFi-GAN vocoder: 24 kbps (demo or trained vocoder; 12.8 kbps with only the official "
        f"release; {_demo_latency('audiodec')})"
    )
