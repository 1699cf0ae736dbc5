"""Intelligibility: word and character error rates of Whisper transcripts (``wer``, ``cer``), 16 kHz.

The output is transcribed with OpenAI's ``openai-whisper`` package (greedy decoding, English, no timestamps,
fp32); the reference transcript is the corpus text where the corpus has one (the demo corpus, VCTK,
manifests with a ``text`` column), otherwise Whisper's transcript of the reference audio (run.json says
which, per metric). Both are normalised with Whisper's ``EnglishTextNormalizer`` and scored with ``jiwer``:
WER = (substitutions + deletions + insertions) / reference words; CER the same over characters.

Model size is a metric option: ``wer`` uses :data:`DEFAULT_MODEL`, ``wer[model=small]`` (stored as
``wer_small``) another size. :func:`_whisper_checkpoint` finds the weights: ``--checkpoint
whisper_MODEL=FILE`` (for the default model also ``--checkpoint whisper=FILE``), else the suite's download
cache (``bench download whisper-MODEL``), fetched there on first use unless offline; without them the metric
is skipped with the reason. A digitally silent output is transcribed as nothing (WER 1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from metrics.base import Metric, MetricError, MetricSpec

SAMPLE_RATE = 16000
#: runs on CPU at a usable speed (74M parameters); larger sizes via ``wer[model=...]``
DEFAULT_MODEL = "base.en"
MODELS = ("tiny.en", "tiny", "base.en", "base", "small.en", "small", "medium.en", "medium", "large-v3",
          "large-v3-turbo")
INSTALL = "pip install --no-deps openai-whisper==20250625 && pip install tiktoken more-itertools jiwer"
#: Whisper decodes 30 s windows; longer outputs go through its sequential ``transcribe``
WINDOW_SECONDS = 30


def checkpoint_keys(model: str) -> tuple[str, ...]:
    """The ``--checkpoint`` names that give weights for ``model``: the model's own (``whisper_small``); the plain
    ``whisper`` too for the default model (so one file never stands for two model sizes in a run)."""
    return (f"whisper_{model}", "whisper") if model == DEFAULT_MODEL else (f"whisper_{model}",)


def download_name(model: str) -> str | None:
    """The download-registry entry of Whisper ``model`` (``whisper-small``), or None when the registry has none."""
    from bench.downloads import ENTRIES

    name = f"whisper-{model}"
    return name if name in ENTRIES else None


def _whisper_checkpoint(model: str, checkpoints: Mapping[str, Path], *, fetch: bool = False) -> Path | None:
    """Where the weights of Whisper ``model`` are, or None: the single lookup for Whisper weights.

    ``--checkpoint whisper_MODEL=FILE``, else (default model only) ``--checkpoint whisper=FILE``, else the
    verified file in the download cache; with ``fetch``, a file not yet cached is downloaded (unless offline).
    """
    for key in checkpoint_keys(model):
        if key in checkpoints:
            return Path(checkpoints[key])
    name = download_name(model)
    if name is None:
        return None
    from bench.downloads import cached, is_offline, resolve

    path = cached(name)
    if path is None and fetch and not is_offline():
        path = resolve(name, progress=False)
    return path


def _downloadable(model: str) -> bool:
    """Whether the weights of ``model`` can be fetched on first use (a registry entry, not offline)."""
    from bench.downloads import is_offline

    return download_name(model) is not None and not is_offline()


def official_sha256(model: str) -> str | None:
    """The sha256 of the publisher's checkpoint for ``model`` (part of its download address), or None."""
    try:
        import whisper
    except ImportError:
        return None
    url = whisper._MODELS.get(model)  # the package's own table of official files
    return url.split("/")[-2] if url else None


def normalise(text: str) -> str:
    """Whisper's English text normaliser (lower case, numbers and spellings standardised, no punctuation)."""
    from whisper.normalizers import EnglishTextNormalizer

    return EnglishTextNormalizer()(text)


def error_rates(reference: str, hypothesis: str) -> tuple[float, float]:
    """``(WER, CER)`` of ``hypothesis`` against ``reference`` after :func:`normalise`, with jiwer."""
    import jiwer

    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref.strip():
        raise MetricError("the reference transcript is empty after normalisation")
    return float(jiwer.wer(ref, hyp)), float(jiwer.cer(ref, hyp))


class WhisperTranscriber:
    """A Whisper model loaded from a checkpoint file (``{"dims": ..., "model_state_dict": ...}``).

    Args:
        path: the checkpoint file.
        device: torch device.
    """

    def __init__(self, path: Path, device: str = "cpu") -> None:
        import whisper

        self.path = Path(path)
        self.model = whisper.load_model(str(self.path), device=device)
        self.english_only = not self.model.is_multilingual

    def transcribe(self, clips: list[np.ndarray]) -> list[str]:
        """Texts of ``[T]`` float32 16 kHz clips; those up to 30 s are decoded together in one batch."""
        import torch
        import whisper

        texts: dict[int, str] = {}
        short = [i for i, c in enumerate(clips) if len(c) <= WINDOW_SECONDS * SAMPLE_RATE]
        options = whisper.DecodingOptions(language="en", task="transcribe", without_timestamps=True, fp16=False,
                                          temperature=0.0)
        if short:
            mels = torch.stack([whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(clips[i])),
                                                            self.model.dims.n_mels) for i in short])
            with torch.inference_mode():
                results = whisper.decode(self.model, mels.to(self.model.device), options)
            texts.update({i: r.text for i, r in zip(short, results, strict=True)})
        for i, clip in enumerate(clips):
            if i not in texts:
                texts[i] = whisper.transcribe(self.model, clip, language="en", fp16=False, temperature=0.0,
                                              condition_on_previous_text=False, verbose=None)["text"]
        return [texts[i].strip() for i in range(len(clips))]


_TRANSCRIBERS: dict[Path, WhisperTranscriber] = {}
_LAST: tuple[bytes, tuple[float, float], str] | None = None


class _Asr(Metric):
    """Shared by ``wer`` and ``cer`` of one model size: one transcription serves both (a one-entry cache)."""

    model: ClassVar[str] = DEFAULT_MODEL
    #: which of (WER, CER) this metric reports
    part: ClassVar[int] = 0
    uses_text = True
    extra_libraries = ("jiwer", "tiktoken")

    def __init__(self, checkpoints: Mapping[str, Path] | None = None) -> None:
        self.checkpoints = dict(checkpoints or {})

    @classmethod
    def create(cls, checkpoints: Mapping[str, Path] | None = None) -> _Asr:
        return cls(checkpoints)

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            import jiwer  # noqa: F401
            import whisper  # noqa: F401
        except ImportError as exc:
            return f"{exc}; install with: {INSTALL}"
        return None

    @classmethod
    def weights_reason(cls, checkpoints: Mapping[str, Path]) -> str | None:
        if _whisper_checkpoint(cls.model, checkpoints) is not None or _downloadable(cls.model):
            return None
        name = download_name(cls.model)
        fetch = (f"`bench download {name}` on a machine with internet (or `bench download {name} --from FILE`), "
                 "or pass " if name else "pass ")
        return (f"no Whisper weights for model {cls.model!r} (the file {cls.model}.pt, sha256 "
                f"{official_sha256(cls.model) or 'see openai-whisper'}) and offline: {fetch}"
                f"--checkpoint {checkpoint_keys(cls.model)[0]}=FILE")

    def _transcriber(self) -> WhisperTranscriber:
        path = _whisper_checkpoint(self.model, self.checkpoints, fetch=True)
        if path is None:
            raise MetricError(self.weights_reason(self.checkpoints) or "no Whisper weights")
        if path not in _TRANSCRIBERS:
            _TRANSCRIBERS[path] = WhisperTranscriber(path)
        return _TRANSCRIBERS[path]

    def compute(self, *, reference: np.ndarray, degraded: np.ndarray, sample_rate: int, text: str = "") -> float:
        global _LAST
        key = hashlib.blake2b(degraded.tobytes() + reference.tobytes() + f"{text}\0{self.model}".encode(),
                              digest_size=16).digest()
        if _LAST is None or _LAST[0] != key:
            transcriber = self._transcriber()
            clips = [np.ascontiguousarray(degraded, dtype=np.float32)]
            if not text:
                if not np.any(reference):
                    raise MetricError("no corpus text and the reference is silent: no reference transcript")
                clips.append(np.ascontiguousarray(reference, dtype=np.float32))
            heard = transcriber.transcribe(clips) if np.any(degraded) else ["", *transcriber.transcribe(clips[1:])]
            reference_text = text or heard[1]
            _LAST = (key, error_rates(reference_text, heard[0]), heard[0])
        return _LAST[1][self.part]

    def settings(self) -> dict[str, Any]:
        from bench.audio import sha256_file

        path = _whisper_checkpoint(self.model, self.checkpoints)
        sha = sha256_file(path) if path is not None and path.is_file() else None
        return {"asr": "openai-whisper", "model": self.model, "checkpoint": str(path) if path else None,
                "sha256": sha, "official_checkpoint": sha is not None and sha == official_sha256(self.model),
                "decoding": "greedy, language en, no timestamps, fp32",
                "normaliser": "whisper EnglishTextNormalizer", "scoring": "jiwer",
                "reference_text": "the corpus text; where an utterance has none, Whisper's transcript of the "
                                  "reference audio"}


def asr_name(kind: str, model: str) -> str:
    """The registered name of ``kind`` (``wer``/``cer``) with Whisper ``model``: ``wer``, ``wer_small``, ..."""
    return kind if model == DEFAULT_MODEL else f"{kind}_{model.replace('.', '_').replace('-', '_')}"


def _asr_class(kind: str, model: str) -> type[_Asr]:
    what = "Word" if kind == "wer" else "Character"
    spec = MetricSpec(asr_name(kind, model), False, SAMPLE_RATE, unit="", library="openai-whisper",
                      description=f"{what} error rate of the Whisper {model} transcript against the corpus text "
                                  f"(Whisper English normaliser, jiwer), 16 kHz")
    name = download_name(model)
    return type(f"{kind.capitalize()}_{model}", (_Asr,), {"spec": spec, "model": model,
                                                           "part": 0 if kind == "wer" else 1,
                                                           "downloads": (name,) if name else ()})


#: metric name -> class, for both kinds and every model size (``wer``, ``cer``, ``wer_small``, ``cer_tiny_en``, ...)
ASR_METRICS: dict[str, type[_Asr]] = {cls.spec.name: cls for cls in
                                      (_asr_class(kind, m) for kind in ("wer", "cer") for m in MODELS)}
Wer, Cer = ASR_METRICS["wer"], ASR_METRICS["cer"]


def option_name(kind: str, options: dict[str, str]) -> str:
    """The registered name of ``kind[model=...]`` (``wer[model=small]`` -> ``wer_small``); ValueError otherwise."""
    unknown = set(options) - {"model"}
    if unknown:
        raise ValueError(f"{kind}: unknown option(s) {', '.join(sorted(unknown))}; it takes model=")
    model = options.get("model", DEFAULT_MODEL)
    if model not in MODELS:
        raise ValueError(f"{kind}[model={model}]: model is one of {', '.join(MODELS)}")
    return asr_name(kind, model)
