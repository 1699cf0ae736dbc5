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
]:
    METRICS.register(_name, _target)

#: rows that the runner adds besides metrics (not metrics themselves)
EXTRA_ROWS = ("bitrate_kbps", "lag_samples")

__all__ = ["EXTRA_ROWS", "METRICS", "Metric", "MetricError", "MetricSpec", "library_version"]
