"""The Python API: score arrays, run the suite, load a run folder into pandas.

Exported from :mod:`bench` (``import bench; bench.evaluate(...)``); nothing heavy is imported until used.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

#: Same bounds as ``bench run`` applies to its inputs.
MIN_SAMPLE_RATE = 16000
MAX_LAG_MS = 20.0


class Evaluation(dict):
    """Metric name -> value (NaN when it failed), plus ``lag_samples`` as in a run's rows.

    Attributes:
        errors: metric -> why its value is NaN.
        settings: how the pair was prepared: input rate, evaluation rate (48 kHz), resampler, alignment
            (``align``, ``max_lag_ms``, the lag found) and each metric's own rate and library version.
    """

    def __init__(self, values: dict[str, float], errors: dict[str, str], settings: dict[str, Any]) -> None:
        super().__init__(values)
        self.errors = errors
        self.settings = settings


def _mono(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float32)
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    if a.ndim != 1:
        raise ValueError(f"{name}: expected a mono signal of shape [T], got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name}: empty signal")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: contains NaN or infinite samples")
    return a


def evaluate(reference: Any, degraded: Any, sample_rate: int, metrics: Iterable[str] | str = "all", *,
             align: str = "system", max_lag_ms: float = MAX_LAG_MS) -> Evaluation:
    """Score one degraded signal against its reference, exactly as ``bench run`` scores a pair.

    Both signals are resampled to 48 kHz (soxr VHQ); a degraded signal of another length is matched to
    the reference as the ``files:`` adapter does (up to 0.5 s); the residual lag is searched within
    ``max_lag_ms`` and compensated by the ``--align`` policy (``system``: the peak in absolute value, as a
    one-utterance system; ``utterance``: the highest positive peak; ``none``: not at all); waveform
    metrics are also scored unaligned (``si_sdr_raw``, ...), and metrics that need no reference (DNSMOS,
    DistillMOS) on the degraded signal as given, never shifted; each metric runs at its own rate. The
    recipe is :func:`bench.scoring.score_pair`, the one a run's metric stage calls: on a run folder's
    reference and output WAVs this returns that run's row values.

    Args:
        reference, degraded: ``[T]`` float arrays at ``sample_rate``.
        sample_rate: their rate in Hz (at least 16000, as for a run's inputs).
        metrics: names (see :func:`list_metrics`) or ``"all"`` (every metric available here).
    Returns:
        an :class:`Evaluation`: ``{"pesq_wb": 3.2, ..., "lag_samples": 0.0}`` with ``.errors`` and
        ``.settings``. A metric that fails gives NaN and its reason, never an exception.
    Raises:
        ValueError: bad signals, rate or alignment; bench.errors.UsageError: unknown or unavailable metric.
    """
    from bench.alignment import AlignPolicy
    from bench.audio import RESAMPLER, SAMPLE_RATE
    from bench.scoring import score_pair
    from metrics import METRICS, library_version, resolve_metrics

    if int(sample_rate) != sample_rate or sample_rate < MIN_SAMPLE_RATE:
        raise ValueError(f"sample_rate {sample_rate}: expected an integer rate of at least {MIN_SAMPLE_RATE} Hz")
    sample_rate = int(sample_rate)
    policy = AlignPolicy(align, max_lag_ms, SAMPLE_RATE)
    names, _ = resolve_metrics([metrics] if isinstance(metrics, str) else list(metrics))
    pair = score_pair(_mono(reference, "reference"), _mono(degraded, "degraded"), sample_rate, names,
                      rate=SAMPLE_RATE, policy=policy)
    scored, lag, offset, peak = pair.values, pair.lag, pair.offset, pair.peak
    values = {m: v for m, (v, _) in scored.items()}
    settings = {
        "input_sample_rate": sample_rate, "sample_rate": SAMPLE_RATE,
        "resampler": RESAMPLER if sample_rate != SAMPLE_RATE else None,
        "align": policy.mode, "max_lag_ms": max_lag_ms, "lag_samples": lag, "length_offset_samples": offset,
        "peak": peak,
        "metrics": {m: {"sample_rate": METRICS.get(m).spec.sample_rate,
                        "library": METRICS.get(m).spec.library or "codec-bench",
                        "version": library_version(METRICS.get(m).spec.library)
                        if METRICS.get(m).spec.library else None} for m in names},
    }
    return Evaluation(values, {m: e for m, (_, e) in scored.items() if e}, settings)


def run(systems: str | list[str] | None = None, data: str | None = None, out: str | Path | None = None,
        **options: Any) -> Path:
    """``bench run`` from Python: the same options (keyword names as in ``bench run --help``, e.g.
    ``max_lag_ms=10``, ``align=False``, ``config="run.yaml"``), the same run folder, the same report.

    The keywords become a :class:`bench.run_options.RunOptions`, as the command line does (no argparse here).

    Returns:
        the run folder; read it with :func:`load_results`.
    Raises:
        bench.errors.UsageError: an unknown option (with suggestions) or a bad value.
    """
    from bench.run_options import RunOptions, execute
    from reports.after_run import report_after_run

    given = {k: v for k, v in {"systems": systems, "data": data, "out": out}.items() if v is not None}
    _, cfg = execute(RunOptions.from_keywords({**given, **options}, source="bench.run()"))
    if cfg.report:
        report_after_run(cfg.out, cfg.quiet)
    return cfg.out


class Results(NamedTuple):
    """A run folder in pandas.

    Attributes:
        results: long format, one row per (utterance, system, metric): columns utterance, speaker, system,
            metric, value (float, NaN when it failed), error.
        summary: one row per (system, metric): n, n_failed, mean, std, ci95_low, ci95_high,
            higher_is_better (True/False, None for bitrate and lag).
    """

    results: Any
    summary: Any


def load_results(run_dir: str | Path) -> Results:
    """Read a run folder's results and summary as two pandas DataFrames (``results, summary = ...``).

    Works on a finished run and on one that is still running or was killed (read from the log).
    """
    import pandas as pd

    from bench.runfolder.paths import RunDir
    from bench.runfolder.results import CSV_COLUMNS, read_results_log
    from bench.runfolder.summary import write_summary_csv
    from metrics import metric_directions

    rd = RunDir(run_dir)
    if not rd.results_jsonl.exists() and not rd.results_csv.exists():
        raise FileNotFoundError(f"{rd.root}: not a run folder (no results.jsonl or results.csv)")
    if rd.results_jsonl.exists():
        rows = read_results_log(rd.results_jsonl)
    else:
        from bench.runfolder.results import read_results_csv

        rows = read_results_csv(rd.results_csv)
    results = pd.DataFrame([[r.utterance, r.speaker, r.system, r.metric, r.value, r.error] for r in rows],
                           columns=list(CSV_COLUMNS))
    results["value"] = results["value"].astype(float)
    if rd.summary_csv.exists():
        summary = pd.read_csv(rd.summary_csv, keep_default_na=False, na_values=["nan"])
    else:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            write_summary_csv(Path(tmp) / "summary.csv", rows, metric_directions(r.metric for r in rows))
            summary = pd.read_csv(Path(tmp) / "summary.csv", keep_default_na=False, na_values=["nan"])
    summary["higher_is_better"] = summary["higher_is_better"].map({"true": True, "false": False, "": None,
                                                                   True: True, False: False})
    return Results(results, summary)


def list_metrics():
    """Every registered metric as a DataFrame: name, higher_is_better, sample_rate, unit, library,
    description, available (its library imports here), reason."""
    import pandas as pd

    from metrics import METRICS

    rows = []
    for name in METRICS.names():
        cls = METRICS.get(name)
        s = cls.spec
        reason = cls.unavailable_reason()
        rows.append({"name": name, "higher_is_better": s.higher_is_better, "sample_rate": s.sample_rate,
                     "unit": s.unit, "library": s.library, "description": s.description,
                     "available": reason is None, "reason": reason})
    return pd.DataFrame(rows)


def list_systems(weights: str | Path | None = None):
    """Every registered system as a DataFrame: name, nominal_kbps, description, available, reason.

    ``weights``: the official AudioDec ``exp/`` folder to check against (as ``bench systems --weights``).
    """
    import pandas as pd

    from systems import RunSettings, describe_systems

    rows = describe_systems(RunSettings(weights_dir=Path(weights) if weights else None))
    return pd.DataFrame([{"name": r.name, "nominal_kbps": r.nominal_kbps, "description": r.description,
                          "available": r.available, "reason": r.reason} for r in rows])
