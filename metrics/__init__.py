"""Objective metrics behind one registry. Third parties register through ``codec_bench.metrics``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bench.audio import SAMPLE_RATE
from bench.errors import UsageError
from bench.registry import Registry
from bench.runfolder.results import EXTRA_ROWS
from metrics.base import Metric, MetricError, MetricSpec, library_version

#: metric kinds that take ``[option=value]`` in ``--metrics``; each variant is a metric of its own name
#: (``wer[model=small]`` is stored as ``wer_small``), resolved without being listed
OPTION_KINDS = ("wer", "cer")


def _variant(name: str) -> type[Metric] | None:
    if not name.startswith(tuple(f"{k}_" for k in OPTION_KINDS)):
        return None
    from metrics.asr import ASR_METRICS

    return ASR_METRICS.get(name)


class MetricRegistry(Registry[type[Metric]]):
    """The metric registry; variants of :data:`OPTION_KINDS` (``wer_small``) resolve but are not listed."""

    def resolve_name(self, name: str) -> str:
        if name not in self._entries and name not in self._aliases and _variant(name) is not None:
            return name
        return super().resolve_name(name)

    def get(self, name: str) -> type[Metric]:
        if name not in self._entries and name not in self._aliases:
            variant = _variant(name)
            if variant is not None:
                return variant
        return super().get(name)


def metric_name(spec: str) -> str:
    """The stored name of a ``--metrics`` entry: ``wer[model=small]`` -> ``wer_small``; others unchanged.

    Raises ValueError for options a metric does not take."""
    kind, bracket, rest = spec.partition("[")
    if not bracket:
        return spec
    if kind not in OPTION_KINDS or not rest.endswith("]"):
        raise ValueError(f"{spec}: only {', '.join(OPTION_KINDS)} take [option=value]")
    from metrics.asr import option_name

    options = dict(part.split("=", 1) for part in rest[:-1].split(",") if "=" in part)
    return option_name(kind, options)


METRICS = MetricRegistry("metric", "codec_bench.metrics")

for _name, _target in [
    ("pesq_wb", "metrics.perceptual:PesqWB"),
    ("pesq_nb", "metrics.perceptual:PesqNB"),
    ("stoi", "metrics.perceptual:Stoi"),
    ("estoi", "metrics.perceptual:Estoi"),
    ("visqol_speech", "metrics.visqol_metric:VisqolSpeech"),
    ("visqol_audio", "metrics.visqol_metric:VisqolAudio"),
    ("si_sdr", "metrics.waveform:SiSdr"),
    ("snr", "metrics.waveform:Snr"),
    ("phase_distance", "metrics.waveform:PhaseDistance"),
    ("lsd", "metrics.spectral:LogSpectralDistance"),
    ("mel_distance", "metrics.spectral:MelDistance"),
    ("mcd", "metrics.spectral:MelCepstralDistortion"),
    ("dnsmos_sig", "metrics.dnsmos:DnsmosSig"),
    ("dnsmos_bak", "metrics.dnsmos:DnsmosBak"),
    ("dnsmos_ovrl", "metrics.dnsmos:DnsmosOvrl"),
    ("dnsmos_p808", "metrics.dnsmos:DnsmosP808"),
    ("distillmos", "metrics.distillmos:DistillMosMetric"),
    ("plcmos", "metrics.plcmos:Plcmos"),
    ("speaker_sim", "metrics.speaker:ResemblyzerSimilarity"),
    ("f0_rmse", "metrics.world:F0Rmse"),
    ("f0_corr", "metrics.world:F0Corr"),
    ("vuv_error", "metrics.world:VuvError"),
    ("mcd_espnet", "metrics.world:McdEspnet"),
    ("wer", "metrics.asr:Wer"),
    ("cer", "metrics.asr:Cer"),
]:
    METRICS.register(_name, _target)

#: names that stand for several metrics in ``--metrics``
METRIC_GROUPS: dict[str, tuple[str, ...]] = {
    "dnsmos": ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808"),
    "pitch": ("f0_rmse", "f0_corr", "vuv_error"),
}
#: left out of the default ``--metrics`` (``all`` includes them): CPU cost per second of audio, see README.
#: The WORLD metrics cost ~35x PESQ-WB (Harvest); Whisper needs weights and costs more than that on CPU.
NOT_DEFAULT: tuple[str, ...] = ("f0_rmse", "f0_corr", "vuv_error", "mcd_espnet", "wer", "cer")


def metric_directions(names: Iterable[str]) -> dict[str, bool]:
    """Whether higher is better, for each of ``names`` that is a registered metric (what summary.csv records)."""
    return {n: METRICS.get(n).spec.higher_is_better for n in dict.fromkeys(names) if n in METRICS}


def resolve_metrics(names: list[str], eval_rate: int = SAMPLE_RATE,
                     checkpoints: dict[str, Path] | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """Expand ``all``, ``default`` (all but ``NOT_DEFAULT``), groups (``dnsmos``) and options
    (``wer[model=small]`` -> ``wer_small``), leaving out, with the reason, what cannot run here or at
    ``eval_rate``, or has no weights among ``checkpoints``; explicit unknown or unavailable metrics are
    usage errors, and so is no metric at all."""
    if not names:
        raise UsageError("--metrics is empty: name metrics (see `bench metrics`) or 'all'")
    checkpoints = checkpoints or {}
    out, skipped = [], []
    names = [m for n in names for m in METRIC_GROUPS.get(n, (n,))]
    for name in names:
        if name in ("all", "default"):
            for m in METRICS.names():
                if name == "default" and m in NOT_DEFAULT:
                    continue
                cls = METRICS.get(m)
                reason = cls.unavailable_reason() or cls.spec.skip_reason(eval_rate) or cls.weights_reason(checkpoints)
                (skipped.append((m, reason)) if reason else out.append(m))
            continue
        try:
            canonical = METRICS.resolve_name(metric_name(name))
        except (KeyError, ValueError) as exc:
            raise UsageError(f"--metrics: {exc}") from None
        cls = METRICS.get(canonical)
        reason = cls.unavailable_reason() or cls.spec.skip_reason(eval_rate)
        if reason:
            raise UsageError(f"--metrics {canonical}: {reason}")
        if weights := cls.weights_reason(checkpoints):
            skipped.append((canonical, weights))
            continue
        out.append(canonical)
    out = list(dict.fromkeys(out))
    if not out and skipped:
        raise UsageError("--metrics: nothing left to compute; " + "; ".join(f"{m}: {r}" for m, r in skipped))
    return out, skipped


__all__ = ["EXTRA_ROWS", "METRICS", "METRIC_GROUPS", "NOT_DEFAULT", "OPTION_KINDS", "Metric", "MetricError", "MetricSpec",
           "library_version", "metric_directions", "metric_name", "resolve_metrics"]
