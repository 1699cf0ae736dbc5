"""``bench listen build``: turn a run folder into a listening-test folder (test.json + audio + webMUSHRA YAML)."""

from __future__ import annotations

import hashlib
import math
import random
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import soundfile as sf
import yaml

from bench.audio import RESAMPLER, resample
from bench.errors import InputError, UsageError
from bench.runfolder import read_manifest
from bench.runfolder.paths import RunDir
from bench.runfolder.wav import read_run_wav
from listening_test import p808
from listening_test.checks import QUALIFICATION
from listening_test.definition import (
    HIDDEN_REFERENCE,
    LOW_ANCHOR,
    MID_ANCHOR,
    Item,
    Stimulus,
    TestDefinition,
)
from listening_test.stimuli import apply_fades, choose_excerpt, match_loudness
from listening_test.testtypes import TEST_TYPES, TestType, get_test_type
from listening_test.wording import TEXTS_FILE, languages, shipped

SAMPLE_RATE = 48000
MAX_SECONDS = 12.0
#: systems that duplicate the hidden reference and are therefore not rated twice
REFERENCE_ALIASES = {"natural"}
DEFAULT_QUESTIONNAIRE = [
    {"name": "age", "label": "Age", "type": "number", "min": 0, "max": 120},
    {"name": "headphones", "label": "Headphones or loudspeakers used", "type": "text"},
    {"name": "expert", "label": "Have you taken part in listening tests before?", "type": "choice",
     "options": ["yes", "no"]},
]


@dataclass
class BuildOptions:
    """Options of ``bench listen build`` (see the CLI help)."""

    run_dir: Path
    out: Path
    type: str = "mushra"
    systems: list[str] | None = None
    items: int | None = None
    seconds: float = 10.0
    target_lufs: float = -26.0
    seed: int = 0
    title: str = ""
    lang: str = "en"
    #: crowd-worker entry/exit (Prolific, MTurk): URL parameter with the worker id, completion code or URL
    participant_param: str = ""
    completion_code: str = ""
    completion_url: str = ""
    #: P.808 checks: qualification questions and a headphone check before the test; for ACR, gold
    #: questions (clean and strongly degraded) and trapping questions mixed into the trials
    qualification: bool = False
    headphone_check: bool = False
    gold: bool = False
    traps: int = 0
    trap_audio: Path | None = None
    #: CCR: the pairs (first, second) to compare; the second is rated against the first
    pairs: list[tuple[str, str]] | None = None
    #: A/B: offer a "no preference" answer
    no_preference: bool = False
    #: a break page after every this many trials (None: the test type's default, 0: none)
    break_every: int | None = None


def _read_wav(path: Path, run_rate: int) -> np.ndarray:
    """``[T]`` float64 at 48 kHz, the rate of a listening test, from a run folder WAV at the run's evaluation
    rate (checked by the run folder's reader, which names the file otherwise), resampled when they differ."""
    return resample(read_run_wav(path, run_rate)[0], run_rate, SAMPLE_RATE).astype(np.float64)


def _rate_notes(run_rate: int, anchors: tuple[str, ...]) -> list[str]:
    """What a run evaluated below 48 kHz means for its listening test."""
    if run_rate == SAMPLE_RATE:
        return []
    notes = [(f"the run was evaluated at {run_rate} Hz: its audio is resampled to {SAMPLE_RATE} Hz for playback "
              f"({RESAMPLER}) and holds nothing above {run_rate // 2} Hz, the hidden reference included")]
    if MID_ANCHOR in anchors and run_rate // 2 <= 8000:
        notes.append(f"{MID_ANCHOR} (7 kHz low-pass) is close to the hidden reference at {run_rate} Hz")
    return notes


def _pick_systems(run: dict, requested: list[str] | None, test_type: TestType) -> tuple[list[str], list[str]]:
    available = list(run.get("systems", {}))
    notes = []
    if requested:
        unknown = [s for s in requested if s not in available and s not in (LOW_ANCHOR, MID_ANCHOR)]
        if unknown:
            raise UsageError(f"--systems: {', '.join(unknown)} not in this run (it has {', '.join(available)})")
        chosen = list(requested)
    else:
        chosen = list(available)
    chosen = [s for s in chosen if s not in (LOW_ANCHOR, MID_ANCHOR, HIDDEN_REFERENCE)]
    for s in [s for s in chosen if s in REFERENCE_ALIASES]:
        chosen.remove(s)
        notes.append(f"system {s!r} left out: it duplicates the hidden reference")
    if not chosen:
        raise UsageError("no system to test: the run has none besides the reference and anchors")
    n_signals = len(chosen) + 1 + len(test_type.anchors)
    limit = test_type.max_signals
    if limit is not None and n_signals > limit:
        raise UsageError(
            f"{len(chosen)} systems + hidden reference + {len(test_type.anchors)} anchors = {n_signals} signals per "
            f"trial; {test_type.title} allows at most {limit}: choose at most "
            f"{limit - 1 - len(test_type.anchors)} with --systems"
        )
    return chosen, notes


def _pick_items(corpus: list[dict], n: int, seed: int) -> list[dict]:
    """``n`` utterances balanced over speakers: round robin over speakers, seeded order inside each."""
    by_speaker: dict[str, list[dict]] = {}
    for entry in corpus:
        by_speaker.setdefault(str(entry.get("speaker", "")), []).append(entry)
    rng = random.Random(seed)
    queues = []
    for speaker in sorted(by_speaker):
        entries = sorted(by_speaker[speaker], key=lambda e: e["id"])
        rng.shuffle(entries)
        queues.append(entries)
    picked: list[dict] = []
    while len(picked) < n and any(queues):
        for q in queues:
            if q and len(picked) < n:
                picked.append(q.pop(0))
    return picked


def _anchor(run_dir: RunDir, name: str, utt: str, reference: np.ndarray, run_rate: int) -> np.ndarray:
    """The anchor from the run folder, else computed with the registered anchor system (from ``reference``
    at 48 kHz)."""
    path = run_dir.audio_wav(name, utt)
    if path.is_file():
        return _read_wav(path, run_rate)
    return compute_anchor(name, reference, utt, missing=path)


def compute_anchor(name: str, reference: np.ndarray, utt: str, missing: Path | str = "") -> np.ndarray:
    """``[T]`` anchor ``name`` (anchor35/anchor70) of ``reference`` made by the registered zero-phase system."""
    path = missing or name
    try:
        from systems import build_system
        from systems.base import RunSettings

        system = build_system(name, RunSettings())
    except (ImportError, KeyError) as exc:
        raise InputError(f"{path}: missing, and the {name} system is not available to make it ({exc})") from exc
    return np.asarray(system.process(reference.astype(np.float32), utterance_id=utt).audio, dtype=np.float64)


def _opaque(*parts: object) -> str:
    return "s" + hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:10]


def prepare_item(out: Path, item_id: str, utterance: str, speaker: str, signals: dict[str, np.ndarray], *,
                 seconds: float, target_lufs: float, seed: int, source: str) -> Item:
    """Cut, fade, loudness-match and write one item's conditions; returns its :class:`Item`.

    Args:
        signals: condition -> ``[T]`` signal at 48 kHz, all time-aligned and of the same length; must hold
            ``HIDDEN_REFERENCE``.
        source: where the signals came from, for error messages.
    """
    reference = signals[HIDDEN_REFERENCE]
    start, end = choose_excerpt(reference, SAMPLE_RATE, seconds)
    cut = {name: apply_fades(x[start:end], SAMPLE_RATE) for name, x in signals.items()}
    try:
        scaled, measured, gains = match_loudness(cut, SAMPLE_RATE, target_lufs)
    except ValueError as exc:
        raise InputError(f"{source}: {exc}") from exc
    (out / "audio" / item_id).mkdir(parents=True, exist_ok=True)
    ref_file = f"audio/{item_id}/reference.wav"
    sf.write(out / ref_file, scaled[HIDDEN_REFERENCE], SAMPLE_RATE, subtype="PCM_16")
    stimuli = []
    for name, x in scaled.items():
        sid = _opaque(seed, item_id, name, utterance)
        rel = f"audio/{item_id}/{sid}.wav"
        sf.write(out / rel, x, SAMPLE_RATE, subtype="PCM_16")
        stimuli.append(Stimulus(id=sid, system=name, file=rel, loudness_lufs=round(measured[name], 2),
                                gain_db=round(gains[name], 2)))
    return Item(id=item_id, utterance=utterance, speaker=speaker, start_s=start / SAMPLE_RATE,
                duration_s=(end - start) / SAMPLE_RATE, reference=ref_file, stimuli=stimuli)


def _build_item(opts: BuildOptions, run_dir: RunDir, run_rate: int, entry: dict, item_id: str, systems: list[str],
                test_type: TestType, gold_index: int | None = None, n_items: int = 0) -> Item:
    utt = entry["id"]
    reference = _read_wav(run_dir.reference_wav(utt), run_rate)
    signals = {HIDDEN_REFERENCE: reference}
    for s in systems:
        signals[s] = _read_wav(run_dir.audio_wav(s, utt), run_rate)
    for a in test_type.anchors:
        signals[a] = _anchor(run_dir, a, utt, reference, run_rate)
    if gold_index is not None:
        signals.update(p808.gold_signals(gold_index, n_items, reference, SAMPLE_RATE, opts.seed))
    for name, x in signals.items():
        if len(x) != len(reference):
            raise InputError(f"{run_dir.audio_wav(name, utt)}: {len(x)} samples, reference has {len(reference)}")
    return prepare_item(opts.out, item_id, utt, str(entry.get("speaker", "")), signals, seconds=opts.seconds,
                        target_lufs=opts.target_lufs, seed=opts.seed, source=f"{run_dir.root}: utterance {utt}")


#: the answers successive trapping questions ask for
TRAP_ANSWERS = (2, 4, 1, 5, 3)


def _add_traps(opts: BuildOptions, items: list[Item], system: str) -> None:
    """Append ``opts.traps`` trapping stimuli (a system's stimulus, then the spoken request) to the items."""
    if not opts.traps:
        return
    texts = yaml.safe_load(shipped(opts.lang))
    for j in range(opts.traps):
        answer, item = TRAP_ANSWERS[j], items[j % len(items)]
        text = texts["trap_message"].format(answer=answer, label=texts["scale"][answer - 1])
        message = p808.spoken_message(text, opts.lang, SAMPLE_RATE, opts.trap_audio, answer)
        base = next(s for s in item.stimuli if s.system == system)
        p808.add_trap(opts.out, item, base.file, answer, message, SAMPLE_RATE,
                      _opaque(opts.seed, item.id, f"trap{answer}", item.utterance), opts.target_lufs)


def build_test(opts: BuildOptions) -> TestDefinition:
    """Build the test folder ``opts.out`` from the run folder ``opts.run_dir``; returns the definition."""
    if opts.type not in TEST_TYPES:
        raise UsageError(f"--type must be one of {', '.join(TEST_TYPES.names())}, not {opts.type!r}")
    test_type = get_test_type(opts.type)
    if opts.lang not in languages():
        raise UsageError(f"--lang {opts.lang!r}: no shipped translation (available: {', '.join(languages())})")
    crowd = {k: v for k, v in (("id_param", opts.participant_param), ("completion_code", opts.completion_code),
                               ("completion_url", opts.completion_url)) if v}
    if opts.participant_param and not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", opts.participant_param):
        raise UsageError(f"--participant-param {opts.participant_param!r}: letters, digits, '_', '.', '-' only")
    if opts.completion_url and not opts.completion_url.startswith(("https://", "http://")):
        raise UsageError(f"--completion-url {opts.completion_url!r}: must start with https:// or http://")
    if (opts.gold or opts.traps) and not test_type.scale.integer:
        raise UsageError(f"--gold and --traps are P.808 checks for category-rating tests, not for {test_type.name}")
    if opts.break_every is not None and opts.break_every < 0:
        raise UsageError("--break-every must be 0 (no breaks) or a number of trials")
    if not 0 <= opts.traps <= 5:
        raise UsageError("--traps must be between 0 and 5")
    if not 0 < opts.seconds <= MAX_SECONDS:
        raise UsageError(f"--seconds must be in (0, {MAX_SECONDS:g}] (BS.1534-3: items never longer than 12 s)")
    if (opts.out / "results.sqlite").exists():
        raise UsageError(f"{opts.out}: holds the results of a served test; build into another --out folder")
    run_dir = RunDir(opts.run_dir)
    manifest = read_manifest(run_dir.root)
    run = manifest.to_dict()
    if test_type.needs_pairs and not opts.pairs:
        raise UsageError(f"--type {test_type.name} needs --pairs FIRST:SECOND[,FIRST:SECOND...]")
    if opts.pairs and not test_type.needs_pairs:
        raise UsageError(f"--pairs is for --type ccr, ab or abx, not {test_type.name}")
    if opts.no_preference and test_type.name != "ab":
        raise UsageError("--no-preference is for --type ab")
    if opts.pairs:
        opts.systems = list(dict.fromkeys(s for pair in opts.pairs for s in pair if s != HIDDEN_REFERENCE))
    systems, notes = _pick_systems(run, opts.systems, test_type)
    if opts.pairs:
        allowed = [HIDDEN_REFERENCE, *systems, *test_type.anchors]
        left_out = sorted({s for pair in opts.pairs for s in pair if s not in allowed})
        if left_out:
            raise UsageError(f"--pairs: {', '.join(left_out)} cannot be paired in a {test_type.name} test "
                             f"(allowed: {', '.join(allowed)})")
    recommended = max(5, math.ceil(1.5 * len(systems)))
    n_items = opts.items or recommended
    if n_items < recommended:
        notes.append(f"{n_items} items: BS.1534-3 recommends at least {recommended} for {len(systems)} systems")
    corpus = [e for e in run.get("corpus", {}).get("items", [])
              if all(run_dir.audio_wav(s, e["id"]).is_file() for s in systems)]
    picked = _pick_items(corpus, n_items + 1, opts.seed)  # one more for training
    if len(picked) < 2:
        raise UsageError(f"{run_dir.root}: needs at least 2 utterances with audio for every system, found {len(picked)}")
    if len(picked) < n_items + 1:
        notes.append(f"only {len(picked) - 1} test items available (asked for {n_items})")
    training_entry, test_entries = picked[-1], picked[:-1]
    opts.out.mkdir(parents=True, exist_ok=True)
    run_rate = manifest.sample_rate
    notes += _rate_notes(run_rate, test_type.anchors)
    items = [_build_item(opts, run_dir, run_rate, e, f"item{i + 1:02d}", systems, test_type,
                         i if opts.gold else None, len(test_entries)) for i, e in enumerate(test_entries)]
    training = _build_item(opts, run_dir, run_rate, training_entry, "training", systems, test_type)
    _add_traps(opts, items, systems[0])
    trials = test_type.pair_trials(items, opts.pairs) if opts.pairs else test_type.trials(items)  # type: ignore[attr-defined]
    definition = TestDefinition(
        type=test_type.name, title=opts.title or f"{opts.type.upper()} listening test", systems=systems,
        items=[*items, training], trials=trials, training="training", target_lufs=opts.target_lufs,
        source_run=str(Path(opts.run_dir).resolve()), created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        questionnaire=DEFAULT_QUESTIONNAIRE, notes=notes, lang=opts.lang, crowd=crowd,
        headphone_check=opts.headphone_check, qualification=QUALIFICATION if opts.qualification else [],
        options={**({"no_preference": True} if opts.no_preference else {}),
                 **({"break_every": opts.break_every} if opts.break_every is not None else {})},
    )
    definition.save(opts.out)
    (opts.out / TEXTS_FILE).write_text(shipped(opts.lang), encoding="utf-8")
    from listening_test.webmushra import write_yaml

    write_yaml(definition, opts.out / "webmushra.yaml")
    return definition


__all__ = ["BuildOptions", "build_test"]
