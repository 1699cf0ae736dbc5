"""``bench run``: references -> systems -> metrics -> results, durable and resumable at every step.

:func:`run` plans the work (:class:`RunContext`: options checked, utterances, systems and metrics chosen,
run.json ``partial``), then runs the stages (each skips what a previous, possibly killed, run already finished):
1. references: each input is validated and resampled once to ``reference/<id>.wav`` (+ a sidecar with
   its checksum, or the error that names the file);
2. systems: each system writes ``audio/<sys>/<id>.wav`` and a sidecar (bits, info, or the error);
   batches of similar length run where the executor puts the system (this process, or Ray actors);
3. metrics: (utterance, system) pairs go to the executor; each result is appended to results.jsonl and
   fsync'ed as it arrives;
4. results.csv, summary.csv and run.json are derived from the log.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import shutil
import sys
import time
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from bench import __version__
from bench.alignment import AlignPolicy
from bench.alignment_stage import explain_flag, system_lags
from bench.atomic import remove_stale_temporaries, write_text_atomic
from bench.audio import RESAMPLER, SAMPLE_RATE, load_input, sha256_file
from bench.corpora import CorpusOptions, Utterance, limit_utterances, open_corpus
from bench.errors import DISK_FULL_ERRNOS, RETRY, DiskFull, InputError, UsageError, environmental
from bench.executors import EXECUTORS, Executor
from bench.freshness import fingerprint, still_matches
from bench.isolation import CrashOutcome, WorkerCrash
from bench.metric_stage import PairJob, after_crash, evaluate_pair
from bench.progress import Progress
from bench.provenance import git_revision, machine, versions
from bench.registry import RegistryError
from bench.runfolder import FORMAT_VERSION, Manifest, read_manifest, write_manifest
from bench.runfolder.paths import REFERENCE_SYSTEM, RunDir, system_dir
from bench.runfolder.results import EXTRA_ROWS, RAW_METRICS, SKIPPED_INPUT, ResultStore, Row, raw_rows
from bench.runfolder.summary import failed_rows, manifest_sha256, write_summary_csv
from bench.runfolder.wav import RUN_RATES, write_run_wav
from bench.runlock import RunLock
from bench.shards import Shard
from bench.system_stage import BatchResult, SystemBatch, boundary_resampling, length_batches, run_batch
from metrics import METRICS, library_version, metric_directions, resolve_metrics
from systems import (
    ComposedSystem,
    RunSettings,
    System,
    SystemUnavailable,
    build_system,
    delay,
    expand_systems,
)
from systems.options import OptionError, diff_options

#: settings that change values: a run folder refuses to mix them (each system's options are checked too)
VALUE_SETTINGS = ("data", "corpus", "align", "max_lag_ms", "downmix", "settings", "sample_rate")
#: evaluation rates ``--sample-rate`` accepts (those a run folder's WAVs may have)
EVAL_RATES = RUN_RATES
#: run settings that do not change values (option_defaults show in each system's options instead)
NEUTRAL_SETTINGS = ("device", "batch_size", "option_defaults")


@dataclass
class RunConfig:
    """Everything ``bench run`` was asked to do."""

    systems: list[str]
    data: str
    out: Path
    metrics: list[str] = field(default_factory=lambda: ["default"])
    limit: int | None = None
    workers: int | None = None
    align: str = "system"
    max_lag_ms: float = 20.0
    strict: bool = False
    downmix: bool = False
    corpus: CorpusOptions = field(default_factory=CorpusOptions)
    settings: RunSettings = field(default_factory=RunSettings)
    executor: str = "local"
    executor_address: str | None = None
    shard: Shard | None = None
    report: bool = True
    overwrite: bool = False
    quiet: bool = False
    #: the evaluation rate: references are resampled to it once; outputs are stored at it
    sample_rate: int = SAMPLE_RATE
    #: every ``bench run`` option after --config and flags (what --print-config prints); None from code
    options: dict[str, Any] | None = None

    def align_policy(self) -> AlignPolicy:
        """The alignment policy (``--align``, ``--max-lag-ms``); a usage error when either is invalid."""
        try:
            return AlignPolicy(self.align, self.max_lag_ms, self.sample_rate)
        except ValueError as exc:
            raise UsageError(f"--align/--max-lag-ms: {exc}") from None

    def value_settings(self) -> dict[str, Any]:
        so = {k: v for k, v in self.settings.to_dict().items() if k not in NEUTRAL_SETTINGS}
        return {"data": self.data, "corpus": asdict(self.corpus), "align": self.align,
                "max_lag_ms": self.max_lag_ms, "downmix": self.downmix, "settings": so,
                "sample_rate": self.sample_rate}


@dataclass
class RunOutcome:
    """What happened: rows written, failures, and where."""

    out: Path
    n_rows: int
    failures: list[Row]
    skipped_systems: list[tuple[str, str]]
    seconds: float
    #: what failed for a cause of the machine (memory, disk, I/O, a killed worker): not stored, retried next run
    retry: list[str] = field(default_factory=list)


def _build_systems(specs: list[str], settings: RunSettings) -> tuple[list[System], list[tuple[str, str]]]:
    expanded, skipped = expand_systems(specs, settings)
    named = set(specs) - {"all"}  # these may fetch what they could do without; those `all` adds do not
    systems = []
    for spec in expanded:
        try:
            systems.append(build_system(spec, settings, named=spec in named))
        except (SystemUnavailable, OptionError, ValueError, KeyError, ImportError) as exc:
            msg = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
            raise UsageError(f"--systems {spec}: {msg}") from None
    names = [s.name for s in systems]
    if REFERENCE_SYSTEM in names:
        raise UsageError(f"--systems: {REFERENCE_SYSTEM!r} is reserved for the scores of the reference itself")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(f"--systems lists the same system twice: {', '.join(dupes)}")
    dirs: dict[str, str] = {}
    for n in names:
        other = dirs.setdefault(system_dir(n), n)
        if other != n:
            raise UsageError(f"--systems: {other} and {n} would share the output folder audio/{system_dir(n)}")
    return systems, skipped


def _check_compatible(rd: RunDir, cfg: RunConfig, systems: list[System]) -> dict[str, Any] | None:
    """Refuse to resume into a folder whose run used different value-changing settings or options.

    The message names only what differs: ``opus: kbps 24 -> 12``, ``settings: seed 0 -> 1``.
    """
    if not rd.run_json.exists():
        return None
    old = read_manifest(rd.root).to_dict()
    if cfg.overwrite:
        return old
    prev = old.get("config", {}).get("value_settings", {})
    now = json.loads(json.dumps(cfg.value_settings(), default=str))
    details = []
    for k in VALUE_SETTINGS:
        if k not in prev or prev[k] == now[k]:
            continue
        if isinstance(prev[k], dict) and isinstance(now[k], dict):
            details.append(f"{k}: {', '.join(diff_options(prev[k], now[k]))}")
        else:
            details.append(f"{k}: {prev[k]} -> {now[k]}")
    old_systems = old.get("systems", {})
    for s in systems:
        before = old_systems.get(s.name, {}).get("options")
        if before is None:
            continue
        after = json.loads(json.dumps(s.option_values(), default=str))
        defaults = json.loads(json.dumps(s.default_option_values(), default=str))
        # an option added since that run (absent from its record) changes nothing at its default value
        after = {k: v for k, v in after.items() if k in before or k not in defaults or v != defaults[k]}
        if before != after:
            details.append(f"{s.name}: {', '.join(diff_options(before, after))}")
        details += [f"{s.name}: {d}" for d in _weights_changes(old_systems[s.name].get("provenance"), s.provenance())]
    if details:
        detail = "; ".join(details)
        raise UsageError(f"--out {rd.root} holds a run with different settings ({detail}); use another --out, "
                         "or --overwrite to add to it anyway")
    return old


def _weights_changes(before: Any, now: dict[str, Any]) -> list[str]:
    """``["weights demo -> official"]`` where a stage's recorded ``provenance.weights`` differs (AudioDec's
    ``weights=auto`` picks the official release once it is cached: its outputs would not continue the run's)."""
    if not isinstance(before, dict):
        return []
    out = []
    for key, old, new in [("", before, now), *((f"{k}.", before.get(k), v) for k, v in now.items())]:
        if isinstance(old, dict) and isinstance(new, dict) and "weights" in old and "weights" in new \
                and old["weights"] != new["weights"]:
            out.append(f"{key}weights {old['weights']} -> {new['weights']}")
    return out


@dataclass
class RunContext:
    """One run's state, shared by its stages (planned once by :func:`_plan`).

    Attributes:
        cfg, rd: what was asked and the run folder.
        utts: the selected utterances; refs: utterance id -> its reference sidecar (filled by
            :func:`_prepare_references`: info, or ``{"error": ...}``).
        systems, metrics: what runs; skipped_*: ``(name, reason)`` of what cannot run here.
        old: the run.json already in the folder (a resumed run), or None.
        created: when the run folder's first run started; started: ``time.monotonic()`` at the start.
    """

    cfg: RunConfig
    rd: RunDir
    utts: list[Utterance]
    systems: list[System]
    metrics: list[str]
    skipped_metrics: list[tuple[str, str]]
    skipped_systems: list[tuple[str, str]]
    old: dict[str, Any] | None
    created: str
    started: float
    refs: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: work that failed for a cause of the machine, not of the input: nothing stored, the next run retries it
    retry: list[str] = field(default_factory=list)

    @property
    def good(self) -> list[Utterance]:
        """The utterances whose reference could be prepared."""
        return [u for u in self.utts if u.id in self.refs and "error" not in self.refs[u.id]]


def run(cfg: RunConfig) -> RunOutcome:
    """Execute a run (or resume it) holding the run folder's lock. Raises UsageError for bad arguments."""
    _executor_class(cfg)  # an unknown --executor is refused before any work
    rd = RunDir(cfg.out)
    made = rd.create()
    try:
        with RunLock(rd.root):
            return _run(cfg, rd)
    except BaseException:
        if made:
            rd.remove_if_unused()
        raise


def _run(cfg: RunConfig, rd: RunDir) -> RunOutcome:
    """The stages in order; the executor serves the system and metric stages and is closed once, here."""
    stale = remove_stale_temporaries(rd.root)  # what writers killed earlier left (the lock is ours now)
    if stale and not cfg.quiet:
        print(f"removed {len(stale)} temporary file(s) a killed run left in {rd.root}", file=sys.stderr)
    delay.keep_measurements_in(rd.codec_delays_json)  # a rerun does not measure Opus/LC3 delays again
    ctx = _plan(cfg, rd)
    try:
        _prepare_references(ctx)
        with closing(_make_executor(cfg)) as executor:
            _run_systems(ctx, executor)
            _run_metrics(ctx, executor)
        return finalize(ctx)
    except OSError as exc:
        if exc.errno not in DISK_FULL_ERRNOS:
            raise
        raise DiskFull(_disk_full_message(ctx, exc)) from None


def _disk_full_message(ctx: RunContext, exc: OSError) -> str:
    """One line: where the disk is full, what is free, roughly what the rest of the run needs."""
    free = shutil.disk_usage(ctx.rd.root).free
    return (f"disk full while writing {exc.filename or 'into ' + str(ctx.rd.root)} ({exc.strerror}): "
            f"{_human(free)} free for {ctx.rd.root}, the rest of the run needs about {_human(_bytes_still_needed(ctx))} "
            "more; free space and rerun the same command to resume (nothing written so far is lost)")


def _bytes_still_needed(ctx: RunContext) -> int:
    """A rough count of what the run still writes: float32 WAVs for missing references and outputs (input
    durations from their headers), and about 300 bytes per result row in the log and again in results.csv."""
    total = 0
    for u in ctx.utts:
        ref = ctx.refs.get(u.id)
        if ref is None:
            try:  # a FIFO is not opened: it could block for ever
                n = int(sf.info(str(u.path)).duration * ctx.cfg.sample_rate) if u.path.is_file() else 0
            except Exception:  # noqa: BLE001 - an estimate; an unreadable input writes nothing
                n = 0
            total += 4 * n * (1 + len(ctx.systems))
        elif "error" not in ref:
            total += sum(4 * int(ref["samples"]) for s in ctx.systems if not ctx.rd.audio_sidecar(s.name, u.id).exists())
    total += 600 * len(ctx.utts) * (len(ctx.systems) + 1) * (len(ctx.metrics) + 2)
    return total


def _human(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _plan(cfg: RunConfig, rd: RunDir) -> RunContext:
    """Check every option and select the work (utterances, metrics, systems) before anything is written
    but run.json (``partial``); resuming, check the folder's earlier run used the same settings."""
    started = time.monotonic()
    if cfg.settings.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA device is available to torch here")
    if cfg.sample_rate not in EVAL_RATES:
        raise UsageError(f"--sample-rate {cfg.sample_rate}: one of {', '.join(map(str, EVAL_RATES))}")
    utts = _select_utterances(cfg)
    rd.protect(u.path for u in utts)
    metric_names, skipped_metrics = resolve_metrics(cfg.metrics, cfg.sample_rate, cfg.settings.checkpoints)
    systems, skipped_systems = _build_systems(cfg.systems, cfg.settings)
    for u in utts:  # every file the run will write is checked before the first one is written
        rd.reference_sidecar(u.id)
        rd.reference_wav(u.id)
        for system in systems:
            rd.audio_wav(system.name, u.id)
            rd.audio_sidecar(system.name, u.id)
    policy = cfg.align_policy()
    for system in systems:
        system.use_rate(cfg.sample_rate)
        system.use_alignment(policy)
    old = _check_compatible(rd, cfg, systems)
    for name, reason in skipped_metrics + skipped_systems:
        print(f"skipped {name}: {reason}", file=sys.stderr)
    created = (old or {}).get("created") or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    ctx = RunContext(cfg, rd, utts, systems, metric_names, skipped_metrics, skipped_systems, old, created, started)
    _write_run_json(ctx, status="partial")
    return ctx


def _select_utterances(cfg: RunConfig) -> list[Utterance]:
    """The corpus (``--data``) after ``--limit`` and ``--shard``; what the corpus rejected is said once."""
    corpus = open_corpus(cfg.data, cfg.corpus)
    utts = corpus.utterances()
    for path, reason in corpus.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    utts = limit_utterances(utts, cfg.limit)
    if cfg.shard is not None:
        utts = cfg.shard.select(utts)
    if not utts:
        raise UsageError(f"--data {cfg.data}: no utterances selected")
    return utts


def _prepare_references(ctx: RunContext) -> None:
    """Stage 1: every reference validated and stored once at the evaluation rate (``ctx.refs``); an input
    that changed since its reference was stored is prepared again, with everything made from it."""
    _forget_changed_inputs(ctx)
    with Progress(len(ctx.utts), "references", quiet=ctx.cfg.quiet) as prog:
        for u in ctx.utts:
            info = _prepare_reference(ctx.rd, u, ctx.cfg.downmix, ctx.cfg.sample_rate)
            if info.get("retry"):
                ctx.retry.append(f"reference {u.id}: {info['error']}")
            else:
                ctx.refs[u.id] = info
            prog.update()
    if not ctx.cfg.quiet:
        for line in resampling_notes(ctx.refs, ctx.systems, ctx.cfg.sample_rate):
            print(line, file=sys.stderr)


def _prepare_reference(rd: RunDir, utt: Utterance, downmix: bool, rate: int = SAMPLE_RATE) -> dict[str, Any]:
    """Validate and store one reference (once) at the evaluation ``rate``. Returns its sidecar: info, or
    {"error": ...} for an input the suite rejects, both with the input's checksum and ``input`` (size, mtime).

    Only what is a property of the input is stored: a failure of the machine (out of memory, an I/O
    error) returns ``{"error": ..., "retry": True}`` and stores nothing; a full disk raises.
    """
    sidecar = rd.reference_sidecar(utt.id)
    if sidecar.exists():
        return json.loads(sidecar.read_text())
    source = fingerprint(utt.path)
    try:
        loaded = load_input(utt.path, downmix=downmix, sample_rate=rate)
        write_run_wav(rd.reference_wav(utt.id), loaded.audio, rate)
        info = {"sha256": source["sha256"] or sha256_file(utt.path), "source_rate": loaded.source_rate,
                "channels": loaded.channels, "resampled_from": loaded.source_rate if loaded.resampled else None,
                "resampler": RESAMPLER if loaded.resampled else None, "sample_rate": rate,
                "samples": len(loaded.audio), "duration": len(loaded.audio) / rate}
    except InputError as exc:
        info = {"error": str(exc), "sha256": source["sha256"]}
    except (OSError, MemoryError) as exc:
        if getattr(exc, "errno", None) in DISK_FULL_ERRNOS:
            raise
        if environmental(exc):
            return {"error": f"{utt.path}: {exc.__class__.__name__}: {exc}", "retry": True}
        info = {"error": f"{utt.path}: {exc}", "sha256": source["sha256"]}
    info["input"] = {k: source[k] for k in ("size", "mtime_ns") if k in source}
    write_text_atomic(sidecar, json.dumps(info))
    return info


def _forget_changed_inputs(ctx: RunContext) -> None:
    """Inputs whose file changed since their reference (or rejection) was stored (size and mtime first, the
    checksum when they differ): their rows, every output made from them and the reference are removed, in
    that order (a kill in between only repeats this), so the stages compute them again; the terminal says so."""
    rd, stale = ctx.rd, []
    for u in ctx.utts:
        side = rd.reference_sidecar(u.id)
        if side.exists():
            info = json.loads(side.read_text())
            if not still_matches(u.path, {"sha256": info.get("sha256"), **info.get("input", {})}, same_path=False):
                stale.append(u)
    if not stale:
        return
    ids = {u.id for u in stale}
    _drop_rows(ctx, lambda r: r.utterance in ids)
    outputs = sorted(p for p in (rd.root / "audio").glob("*") if p.is_dir())
    for u in stale:
        for folder in outputs:
            for ext in (".json", ".wav"):  # the sidecar first: it says the output is done
                rd.checked(folder / f"{u.id}{ext}").unlink(missing_ok=True)
        rd.reference_sidecar(u.id).unlink()
        rd.reference_wav(u.id).unlink(missing_ok=True)
    _say_recomputed(ctx, f"{len(stale)} input(s) changed since the last run", [str(u.path) for u in stale])


def _forget_changed_outputs(ctx: RunContext, system: System) -> None:
    """For a system that reads its outputs from files (``files:``): outputs whose file changed, appeared or
    went away since they were stored lose their rows and are made again."""
    if not system.reads_files:
        return
    stale = []
    for u in ctx.good:
        side = ctx.rd.audio_sidecar(system.name, u.id)
        if side.exists() and not still_matches(system.output_file(u.id), json.loads(side.read_text()).get("source", {})):
            stale.append(u.id)
    if not stale:
        return
    ids = set(stale)
    _drop_rows(ctx, lambda r: r.system == system.name and r.utterance in ids)
    for uid in stale:
        ctx.rd.audio_sidecar(system.name, uid).unlink()
        ctx.rd.audio_wav(system.name, uid).unlink(missing_ok=True)
    _say_recomputed(ctx, f"{len(stale)} output(s) of {system.name} whose file changed or appeared", stale)


def _drop_rows(ctx: RunContext, drop) -> None:
    with closing(ResultStore(ctx.rd.results_jsonl)) as store:
        store.discard(drop)


def _say_recomputed(ctx: RunContext, what: str, names: list[str]) -> None:
    if not ctx.cfg.quiet:
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        print(f"recomputing {what}: {shown}", file=sys.stderr)


def _run_systems(ctx: RunContext, executor: Executor) -> None:
    """Stage 2: every missing output of every system; a failing item gets an error sidecar, the rest go on."""
    good = ctx.good
    for system in ctx.systems:
        _forget_changed_outputs(ctx, system)
        todo = [u for u in good if not ctx.rd.audio_sidecar(system.name, u.id).exists()]
        if not todo:
            continue
        batches = length_batches([(u.id, str(ctx.rd.reference_wav(u.id)), int(ctx.refs[u.id]["samples"]))
                                  for u in todo], system.batch_limit())
        with Progress(len(todo), f"{system.name}", quiet=ctx.cfg.quiet) as prog:
            for batch, result in executor.map_system(system, run_batch, batches):
                _store_batch(ctx, system, batch, result)
                prog.update(len(batch.ids))


def _store_batch(ctx: RunContext, system: System, batch: SystemBatch, result: BatchResult) -> None:
    """Write each output at the evaluation rate (the references' rate), or its error sidecar (not for a
    failure of the machine: that is retried next run); a ``files:`` output's sidecar records its file."""
    name = system.name
    for uid, res, secs in zip(batch.ids, result.outputs, result.seconds):
        sidecar = ctx.rd.audio_sidecar(name, uid)
        source = {"source": fingerprint(system.output_file(uid))} if system.reads_files else {}
        if isinstance(res, str) and res.startswith(RETRY):
            ctx.retry.append(f"{name} on {uid}: {res[len(RETRY):]}")
            continue
        if isinstance(res, str):
            write_text_atomic(sidecar, json.dumps({"error": f"{name} failed on {uid}: {res}", **source}))
            continue
        y = np.asarray(res.audio, dtype=np.float32)
        n = int(ctx.refs[uid]["samples"])
        if y.shape != (n,) or not np.all(np.isfinite(y)):
            problem = "non-finite samples" if y.shape == (n,) else f"length {y.shape} != input {(n,)}"
            write_text_atomic(sidecar, json.dumps({"error": f"{name} returned {problem} for {uid}", **source}))
            continue
        write_run_wav(ctx.rd.audio_wav(name, uid), y, int(ctx.refs[uid].get("sample_rate", SAMPLE_RATE)))
        write_text_atomic(sidecar, json.dumps({"bits": res.bits, "seconds": secs, "info": res.info, **source},
                                              default=str))


def _run_metrics(ctx: RunContext, executor: Executor) -> None:
    """Stage 3: every missing (utterance, system, metric) row, appended to results.jsonl as it arrives;
    rejected inputs and failed outputs get their rows (NaN and the reason) without a job."""
    with closing(ResultStore(ctx.rd.results_jsonl)) as store:
        for note in store.notes:
            print(f"warning: {note}", file=sys.stderr)
        store.add(Row(u.id, u.speaker, "", SKIPPED_INPUT, math.nan, ctx.refs[u.id]["error"])
                  for u in ctx.utts if "error" in ctx.refs.get(u.id, {}))
        jobs = _metric_jobs(ctx, store, executor) + _reference_jobs(ctx, store)
        with Progress(len(jobs), "metrics", quiet=ctx.cfg.quiet) as prog:

            def on_crash(job: PairJob, crash: WorkerCrash) -> CrashOutcome:
                print(f"warning: a metric worker {crash.reason} while scoring {job.degraded_path} "
                      f"({', '.join(job.metrics) or 'lag'}); started a fresh one", file=sys.stderr)
                if not job.crashed:
                    prog.update()
                return after_crash(job, crash)

            for job, rows in executor.map_unordered(evaluate_pair, jobs, on_crash):
                store.add(r for r in rows if not r.error.startswith(RETRY))
                ctx.retry += [f"{r.system} / {r.utterance} / {r.metric}: {r.error[len(RETRY):]}"
                              for r in rows if r.error.startswith(RETRY)]
                if not job.crashed:
                    prog.update()


def resampling_notes(refs: dict[str, dict[str, Any]], systems: list[System], rate: int) -> list[str]:
    """What was resampled, said once per run: the inputs (how many, from what rates) and each system whose
    own rate differs from the evaluation rate."""
    notes = []
    rates = [r["resampled_from"] for r in refs.values() if r.get("resampled_from")]
    if rates:
        counts = ", ".join(f"{rates.count(sr)} from {sr} Hz" for sr in sorted(set(rates)))
        notes.append(f"resampled {len(rates)} of {len(refs)} inputs to {rate} Hz ({counts}; {RESAMPLER})")
    for s in systems:
        if steps := boundary_resampling(s, rate):
            said = ", ".join(f"{st['from']} -> {st['to']} Hz" for st in steps)
            notes.append(f"{s.name} works at {s.sample_rate} Hz: resampled at its boundary ({said})")
    return notes


def _metric_jobs(ctx: RunContext, store: ResultStore, executor: Executor) -> list[PairJob]:
    """The pairs still to score, each with the lag the alignment policy gives it (see bench.alignment);
    an output that failed gets its missing rows (NaN, the reason) in ``store`` instead of a job."""
    rd, policy, metric_names = ctx.rd, ctx.cfg.align_policy(), ctx.metrics
    checkpoints = tuple((k, str(v)) for k, v in sorted(ctx.cfg.settings.checkpoints.items()))
    raw = raw_rows(metric_names)
    wanted = (*metric_names, *(stored for _, stored in raw), *EXTRA_ROWS)
    pending: list[tuple[System, Utterance, dict[str, Any], list[str]]] = []
    outputs: dict[str, list[tuple[str, str, str]]] = {}
    for system in ctx.systems:
        for u in ctx.good:
            side = rd.audio_sidecar(system.name, u.id)
            missing = [m for m in wanted if (u.id, system.name, m) not in store]
            if not side.exists():  # not made this time (a failure of the machine): no row until it is
                if missing and not any(r.startswith(f"{system.name} on {u.id}:") for r in ctx.retry):
                    ctx.retry.append(f"{system.name} on {u.id}: no output yet")
                continue
            out = json.loads(side.read_text())
            if out.get("error"):
                store.add(Row(u.id, u.speaker, system.name, m, math.nan, out["error"]) for m in missing)
                continue
            outputs.setdefault(system.name, []).append((u.id, str(rd.reference_wav(u.id)),
                                                        str(rd.audio_wav(system.name, u.id))))
            if missing:
                pending.append((system, u, out, missing))
    needed = {s.name for s, *_ in pending}
    lags = system_lags(rd, {k: v for k, v in outputs.items() if k in needed}, policy, executor, ctx.cfg.quiet)
    jobs = []
    for system, u, out, missing in pending:
        if policy.mode == "system":
            lag: int | None = lags[system.name].lag if system.name in lags else 0
        else:
            lag = None if policy.mode == "utterance" else 0
        prior = int((out.get("info") or {}).get("offset_samples") or 0)
        jobs.append(PairJob(u.id, u.speaker, system.name, str(rd.reference_wav(u.id)),
                            str(rd.audio_wav(system.name, u.id)), tuple(m for m in metric_names if m in missing),
                            out.get("bits"), ctx.refs[u.id]["duration"], "bitrate_kbps" in missing,
                            "lag_samples" in missing, lag, policy.max_lag, prior,
                            tuple((m, r) for m, r in raw if r in missing), text=u.text, checkpoints=checkpoints))
    return jobs


def _reference_jobs(ctx: RunContext, store: ResultStore) -> list[PairJob]:
    """Metrics that need no reference also score each reference once, as system ``reference``."""
    alone = [m for m in ctx.metrics if not METRICS.get(m).spec.needs_reference]
    jobs = []
    for u in ctx.good:
        missing = tuple(m for m in alone if (u.id, REFERENCE_SYSTEM, m) not in store)
        if missing:
            path = str(ctx.rd.reference_wav(u.id))
            jobs.append(PairJob(u.id, u.speaker, REFERENCE_SYSTEM, path, path, missing, None,
                                ctx.refs[u.id]["duration"], want_bitrate=False, want_lag=False, lag=0,
                                max_lag=0))
    return jobs


def _executor_class(cfg: RunConfig) -> type[Executor]:
    try:
        return EXECUTORS.get(cfg.executor)
    except RegistryError as exc:
        raise UsageError(f"--executor: {exc}") from None


def _make_executor(cfg: RunConfig) -> Executor:
    return _executor_class(cfg)(workers=cfg.workers, address=cfg.executor_address)


def finalize(ctx: RunContext) -> RunOutcome:
    """Stage 4: derive results.csv, summary.csv and run.json (``complete``) from the log; print the summary."""
    rd = ctx.rd
    store = ResultStore(rd.results_jsonl)
    store.close()
    store.write_csv(rd.results_csv)
    rows = store.sorted_rows()
    write_summary_csv(rd.summary_csv, rows, metric_directions(r.metric for r in rows))
    failures = failed_rows(rows)
    _write_run_json(ctx, status="partial" if ctx.retry else "complete", failures=failures)
    if not ctx.cfg.quiet:
        _print_outcome(ctx, failures)
    if ctx.retry:
        print(f"\nerror: {len(ctx.retry)} item(s) failed for a cause of this machine, not of the input, and were "
              "not stored (run.json says partial); rerun the same command to compute them:", file=sys.stderr)
        for line in ctx.retry[:5]:
            print(f"  {line}", file=sys.stderr)
    return RunOutcome(rd.root, len(rows), failures, ctx.skipped_systems, time.monotonic() - ctx.started,
                      list(ctx.retry))


def _print_outcome(ctx: RunContext, failures: list[Row]) -> None:
    """The summary table, what was not computed, skipped inputs, failures and alignment flags."""
    rd, systems, metric_names = ctx.rd, ctx.systems, ctx.metrics
    shown = [s.name for s in systems]
    if any(not METRICS.get(m).spec.needs_reference for m in metric_names):
        shown.insert(0, REFERENCE_SYSTEM)  # the ceiling of the metrics that need no reference
    print(format_summary_table(rd.summary_csv, shown, metric_names))
    for name, reason in ctx.skipped_metrics:
        print(f"not computed: {name} ({reason})")
    skipped = [r for r in failures if r.metric == SKIPPED_INPUT]
    failures_ = [r for r in failures if r.metric != SKIPPED_INPUT]
    if skipped:
        print(f"\n{len(skipped)} input(s) skipped (not evaluated by any system):", file=sys.stderr)
        for r in skipped:
            print(f"  {r.utterance}: {r.error}", file=sys.stderr)
    if failures_:
        print(f"\n{len(failures_)} value(s) could not be computed; e.g.:", file=sys.stderr)
        for r in failures_[:5]:
            print(f"  {r.system} / {r.utterance} / {r.metric}: {r.error}", file=sys.stderr)
    for name, a in alignment_records(rd, [s.name for s in systems]).items():
        if a.get("flag"):
            print(f"warning: {explain_flag(name, a)}", file=sys.stderr)
    print(f"\nresults: {rd.results_csv}\nsummary: {rd.summary_csv}\nprovenance: {rd.run_json}")


def alignment_records(rd: RunDir, names: list[str]) -> dict[str, dict[str, Any]]:
    """system -> its stored alignment (``alignment/<sysdir>.json``), for the systems that have one."""
    out = {}
    for name in names:
        path = rd.alignment_json(name)
        if path.exists():
            out[name] = json.loads(path.read_text())
    return out


def format_summary_table(summary_csv: Path, systems: list[str], metrics: list[str]) -> str:
    """A plain-text systems x metrics table of mean +- CI half-width."""
    with open(summary_csv, newline="") as f:
        data = {(r["system"], r["metric"]): r for r in csv.DictReader(f)}
    cols = [*metrics, "bitrate_kbps"]
    header = ["system", *[f"{m}{'↑' if m in METRICS and METRICS.get(m).spec.higher_is_better else '↓'}"
                          if m in METRICS else m for m in cols]]
    lines = []
    for s in systems:
        cells = [s]
        for m in cols:
            r = data.get((s, m))
            if not r or r["n"] == "0":
                cells.append("-")
                continue
            mean, lo = float(r["mean"]), float(r["ci95_low"])
            half = mean - lo if math.isfinite(lo) else math.nan
            cell = f"{mean:.3f}" + (f"±{half:.3f}" if math.isfinite(half) else "")
            if int(r["n_failed"]):
                cell += f" ({r['n_failed']} failed)"
            cells.append(cell)
        lines.append(cells)
    widths = [max(len(str(row[i])) for row in [header, *lines]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), fmt.format(*["-" * w for w in widths]), *(fmt.format(*r) for r in lines)])


def _write_run_json(ctx: RunContext, *, status: str, failures: list[Row] | None = None) -> None:
    """run.json (through :func:`bench.runfolder.write_manifest`): ``partial`` when planned, ``complete`` at
    the end; what an earlier run in the folder recorded about other systems, metrics and utterances (a run
    with a smaller ``--limit``) is kept, so run.json describes every row in the folder."""
    cfg, old = ctx.cfg, ctx.old or {}
    by_id = {i["id"]: i for i in old.get("corpus", {}).get("items", []) if "id" in i}
    for u in ctx.utts:
        d = u.to_dict()
        d.update({k: v for k, v in ctx.refs.get(u.id, {}).items() if k != "input"})
        by_id[u.id] = d
    items = list(by_id.values())
    doc = {
        "format_version": FORMAT_VERSION,
        "package": {"name": "codec-bench", "version": __version__},
        "created": ctx.created,
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds") if status == "complete" else None,
        "status": status,
        "command": sys.argv,
        "git_revision": git_revision(),
        "machine": machine(),
        "versions": {**old.get("versions", {}), **versions(ctx.systems, ctx.metrics)},
        "config": _config_record(ctx),
        "corpus": {"spec": cfg.data, "n": len(items), "manifest_sha256": manifest_sha256(items), "items": items},
        "systems": {**old.get("systems", {}), **_system_records(ctx)},
        "metrics": {**old.get("metrics", {}), **_metric_records(ctx.metrics, cfg.settings.checkpoints)},
        "downloads": {**old.get("downloads", {}), **_download_records(ctx)},
        "skipped_inputs": [{"utterance": i["id"], "path": i.get("path"), "error": i["error"]}
                           for i in items if "error" in i],
        "failures": [{"utterance": r.utterance, "system": r.system, "metric": r.metric, "error": r.error}
                     for r in (failures or []) if r.metric != SKIPPED_INPUT],
    }
    write_manifest(ctx.rd.root, Manifest.from_dict(json.loads(json.dumps(doc, default=str)), str(ctx.rd.run_json)))


def _system_records(ctx: RunContext) -> dict[str, dict[str, Any]]:
    """What each system says about itself (description, options, provenance) and its measured alignment."""
    aligned = alignment_records(ctx.rd, [s.name for s in ctx.systems])
    return {s.name: {"description": s.description, "nominal_kbps": s.nominal_kbps,
                     "kind": s.codec.kind if isinstance(s, ComposedSystem) else s.kind, "family": s.family,
                     "options": s.option_values(), "sample_rate": s.sample_rate,
                     "resampling": boundary_resampling(s, ctx.cfg.sample_rate),
                     "audio_dir": f"audio/{system_dir(s.name)}", "deterministic": s.deterministic,
                     "provenance": s.provenance(), "alignment": aligned.get(s.name)}
            for s in ctx.systems}


def _download_records(ctx: RunContext) -> dict[str, dict[str, Any]]:
    """Every downloaded file the run used (name, URL, SHA-256, licence): what systems and the corpus resolved
    in this process, and what the metrics declare (they resolve theirs in worker processes)."""
    from bench.downloads import check, provenance, used_in_this_process

    out = used_in_this_process()
    for m in ctx.metrics:
        for name in METRICS.get(m).downloads:
            if name not in out and check(name).state == "ok":
                out[name] = provenance(name)
    return out


def _metric_records(metric_names: list[str], checkpoints: dict[str, Path] | None = None) -> dict[str, dict[str, Any]]:
    """Each metric's spec, library version and settings; a raw (unaligned) twin follows the aligned ones."""
    out: dict[str, dict[str, Any]] = {}
    for m in metric_names:
        cls = METRICS.get(m)
        out[m] = {**{k: v for k, v in asdict(cls.spec).items() if k != "name"},
                  "version": library_version(cls.spec.library) if cls.spec.library else __version__,
                  "settings": cls.create(checkpoints or {}).settings()}
    for m in metric_names:  # after the aligned ones, so tables show those first
        if m in RAW_METRICS:
            out[RAW_METRICS[m]] = {**out[m], "aligned": False,
                                   "description": f"{out[m].get('description', m)}; unaligned"}
    return out


def _config_record(ctx: RunContext) -> dict[str, Any]:
    """The run's configuration; systems and metrics accumulate over the runs into the same folder."""
    cfg, old_cfg = ctx.cfg, (ctx.old or {}).get("config", {})
    return {
        "systems": list(dict.fromkeys([*old_cfg.get("systems", []), *[s.name for s in ctx.systems]])),
        "metrics": list(dict.fromkeys([*old_cfg.get("metrics", []), *ctx.metrics])),
        "data": cfg.data, "limit": cfg.limit, "align": cfg.align, "max_lag_ms": cfg.max_lag_ms,
        "downmix": cfg.downmix, "corpus": asdict(cfg.corpus), "settings": cfg.settings.to_dict(),
        "executor": cfg.executor, "workers": cfg.workers, "value_settings": cfg.value_settings(),
        "shard": str(cfg.shard) if cfg.shard else None,
        "resampler": RESAMPLER, "sample_rate": cfg.sample_rate,
        "skipped_metrics": dict(ctx.skipped_metrics),
        "options": cfg.options,
    }
