"""Objective metrics behind one registry. Third parties register through ``codec_bench.metrics``."""

from __future__ import annotations

from bench.registry import Registry
from metrics.base import Metric, MetricError, MetricSpec, library_version

METRICS: Registry[type[Metric]] = Registry("metric", "codec_bench.metrics")

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
]:
    METRICS.register(_name, _target)

#: names that stand for several metrics in ``--metrics``
METRIC_GROUPS: dict[str, tuple[str, ...]] = {
    "dnsmos": ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808"),
}
#: left out of the default ``--metrics`` (``all`` includes them): CPU cost per second of audio, see README
NOT_DEFAULT: tuple[str, ...] = ()

#: rows that the runner adds besides metrics (not metrics themselves)
EXTRA_ROWS = ("bitrate_kbps", "lag_samples")

__all__ = ["EXTRA_ROWS", "METRICS", "METRIC_GROUPS", "NOT_DEFAULT", "Metric", "MetricError", "MetricSpec", "library_version"]
