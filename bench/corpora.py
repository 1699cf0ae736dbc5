"""Corpora: where utterances come from (``--data demo | vctk:PATH | folder:PATH | manifest:FILE.csv``).

Listing a corpus never decodes audio, so one broken file cannot stop a run: it fails later, per item.
"""

from __future__ import annotations

import csv
import errno
import os
import re
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import soundfile as sf

from bench.errors import UsageError
from bench.registry import Registry, RegistryError
from bench.runfolder.paths import id_problem

#: what ``folder:`` picks up; mp3 when this libsndfile reads it (1.1 and later)
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", *((".mp3",) if "MP3" in sf.available_formats() else ()))
DEMO_DIR = Path(__file__).resolve().parent / "data" / "demo"
#: the ScoreDec paper's test speakers (Valentini clean test set)
VCTK_TEST_SPEAKERS = ("p232", "p257")


@dataclass(frozen=True)
class Utterance:
    """One evaluation item.

    Attributes:
        id: unique id within the corpus (may contain ``/`` for nested folders).
        speaker: speaker id, ``""`` when unknown.
        path: the audio file.
        sample_rate: the file's rate (0 when the header cannot be read: the item fails when loaded).
        duration: seconds (NaN when unknown).
        gender: "male", "female" or "".
        text: the transcript, "" when the corpus has none (shown on the demo page).
    """

    id: str
    speaker: str
    path: Path
    sample_rate: int
    duration: float
    gender: str = ""
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


@dataclass
class CorpusOptions:
    """Selection options from the CLI.

    Attributes:
        split: "test" (the paper's test speakers p232, p257) or "all" (VCTK only).
        speakers: keep only these speakers (empty: all).
        mic: VCTK 0.92 microphone, "mic1" or "mic2".
    """

    split: str = "test"
    speakers: tuple[str, ...] = ()
    mic: str = "mic1"


def _probe(path: Path, utt_id: str, speaker: str, gender: str = "", text: str = "") -> Utterance:
    """The utterance with its rate and duration from the file's header (0 and NaN when it cannot be read; a
    FIFO or device is not opened: reading it could block for ever)."""
    try:
        if not path.is_file():
            raise OSError(f"{path}: not a regular file")
        info = sf.info(str(path))
        return Utterance(utt_id, speaker, path, int(info.samplerate), float(info.duration), gender, text)
    except Exception:  # noqa: BLE001 - probing only: an unreadable file fails with its reason when read
        return Utterance(utt_id, speaker, path, 0, float("nan"), gender, text)


class Corpus(ABC):
    """A source of utterances. ``spec`` is the text after ``scheme:`` in ``--data``."""

    scheme: str = ""
    #: download-registry entries (:mod:`bench.downloads`) the corpus fetches when no path is given
    downloads: tuple[str, ...] = ()
    #: True when ``--data SCHEME`` alone (no path) is valid
    path_optional: bool = False

    def __init__(self, spec: str, options: CorpusOptions) -> None:
        self.spec = spec
        self.options = options
        #: entries that were passed over while listing, with the reason: (path, reason)
        self.skipped: list[tuple[str, str]] = []

    @abstractmethod
    def utterances(self) -> list[Utterance]:
        """All selected utterances, sorted by id (deterministic order)."""

    def _select(self, utts: list[Utterance]) -> list[Utterance]:
        if self.options.speakers:
            utts = [u for u in utts if u.speaker in self.options.speakers]
        ids = [u.id for u in utts]
        bad = [f"{uid!r}: {problem}" for uid in ids if (problem := id_problem(uid))]
        if bad:  # every one at once, so one fix is enough
            raise UsageError(f"corpus {self.scheme}:{self.spec}: {len(bad)} utterance id(s) cannot name files in "
                             f"the run folder (rename the files): " + "; ".join(bad))
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})[:3]
            raise UsageError(f"corpus {self.scheme}:{self.spec} has duplicate utterance ids: {', '.join(dup)}")
        return sorted(utts, key=lambda u: u.id)


CORPORA: Registry[type[Corpus]] = Registry("corpus", "codec_bench.corpora")


@CORPORA.decorator("demo")
class DemoCorpus(Corpus):
    """The built-in synthetic corpus: espeak-ng speech, 2 voices, 48 kHz FLAC (see scripts/make_demo_corpus.py)."""

    scheme = "demo"

    def utterances(self) -> list[Utterance]:
        with open(DEMO_DIR / "manifest.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        return self._select([_probe(DEMO_DIR / r["path"], r["id"], r["speaker"], r["gender"], r.get("text") or "")
                             for r in rows])


@CORPORA.decorator("folder")
class FolderCorpus(Corpus):
    """Every wav/flac/ogg below a folder (recursive); id = relative path without extension."""

    scheme = "folder"

    def utterances(self) -> list[Utterance]:
        root = Path(self.spec).expanduser()
        if not root.is_dir():
            raise UsageError(f"--data folder:{self.spec}: no such folder")
        files = self._walk(root)
        if not files:
            raise UsageError(f"--data folder:{self.spec}: no {'/'.join(AUDIO_EXTENSIONS)} files found")
        utts = []
        for p in files:
            rel = p.relative_to(root).with_suffix("")
            speaker = rel.parts[0] if len(rel.parts) > 1 else ""
            utts.append(_probe(p, rel.as_posix(), speaker))
        return self._select(utts)

    def _walk(self, root: Path) -> list[Path]:
        """Audio files below ``root`` (following symlinks once); everything passed over goes to ``skipped``."""
        files: list[Path] = []
        other: list[str] = []
        seen = {os.path.realpath(root)}
        stack = [root]
        while stack:
            folder = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError as exc:
                self.skipped.append((str(folder), f"cannot list folder ({exc.strerror})"))
                continue
            for e in entries:
                path = Path(e.path)
                if e.is_symlink() and not path.exists():
                    try:
                        os.stat(path)
                        reason = "cannot be read"
                    except OSError as exc:
                        reason = ("symlink loop" if exc.errno == errno.ELOOP
                                  else f"dangling symlink (to {os.readlink(path)}, which does not exist)")
                    self.skipped.append((str(path), reason))
                elif e.is_dir():
                    real = os.path.realpath(path)
                    if real in seen:
                        here = os.path.realpath(folder)
                        loop = os.path.commonpath([real, here]) == real
                        self.skipped.append((str(path), f"symlink loop (to {real}, which contains it)" if loop
                                             else f"links to a folder listed already ({real})"))
                    else:
                        seen.add(real)
                        stack.append(path)
                elif path.suffix.lower() in AUDIO_EXTENSIONS and e.is_file():
                    files.append(path)
                elif path.suffix.lower() in (".mp3", ".m4a", ".aac", ".opus", ".wma", ".aiff", ".aif"):
                    reason = f"{path.suffix} is not read here (use {'/'.join(AUDIO_EXTENSIONS)})"
                    self.skipped.append((str(path), reason))
                else:
                    other.append(e.name)
        if other:
            more = f", ... ({len(other)} in all)" if len(other) > 3 else ""
            self.skipped.append((str(root), f"files that are not audio: {', '.join(other[:3])}{more}"))
        return sorted(files)


@CORPORA.decorator("manifest")
class ManifestCorpus(Corpus):
    """A CSV file with columns id, path[, speaker[, gender[, text]]]; relative paths are relative to the CSV."""

    scheme = "manifest"

    def utterances(self) -> list[Utterance]:
        path = Path(self.spec).expanduser()
        if not path.is_file():
            raise UsageError(f"--data manifest:{self.spec}: no such file")
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            missing = {"id", "path"} - set(reader.fieldnames or [])
            if missing:
                raise UsageError(f"{path}: manifest lacks column(s) {', '.join(sorted(missing))}")
            rows = [(reader.line_num, r) for r in reader]
        bad = [f"{path}, line {line}: id {r['id']!r}: {problem}" for line, r in rows
               if (problem := id_problem(r["id"] or ""))]
        if bad:  # every one at once, so one fix is enough
            raise UsageError(f"{len(bad)} id(s) of the manifest cannot name the run's files (ids are relative names "
                             "like speaker/utt_001): " + "; ".join(bad))
        utts = []
        for line, r in rows:
            if not r["path"]:
                raise UsageError(f"{path}, line {line}: empty path")
            p = Path(r["path"]).expanduser()
            if not p.is_absolute():
                p = path.parent / p
            utts.append(_probe(p, r["id"], r.get("speaker") or "", r.get("gender") or "", r.get("text") or ""))
        return self._select(utts)


_VCTK_FILE = re.compile(r"^(p\d+|s\d+)_(\d+)(?:_(mic[12]))?$")
#: VCTK's transcript folders: txt/<speaker>/<id>.txt (0.80, 0.92), <set>_txt/<id>.txt (Valentini)
_VCTK_TXT = ("txt", "testset_txt", "trainset_28spk_txt", "trainset_56spk_txt")
_GENDERS = {"m": "male", "f": "female"}


def _vctk_txt_dirs(root: Path) -> list[Path]:
    """The transcript folders present at ``root`` or one level below."""
    bases = [root, *sorted(p for p in root.glob("*") if p.is_dir())]
    return [b / name for b in bases for name in _VCTK_TXT if (b / name).is_dir()]


def _with_text(u: Utterance, txt_dirs: list[Path]) -> Utterance:
    """``u`` with its VCTK transcript (unchanged when no txt file is found)."""
    for d in txt_dirs:
        for path in (d / u.speaker / f"{u.id}.txt", d / f"{u.id}.txt"):
            if path.is_file():
                return replace(u, text=path.read_text(encoding="utf-8", errors="replace").strip())
    return u


def _vctk_genders(root: Path) -> dict[str, str]:
    """Speaker -> "male"/"female" from speaker-info.txt (ids with or without the ``p``), {} when absent."""
    for path in (root / "speaker-info.txt", *sorted(root.glob("*/speaker-info.txt"))):
        if path.is_file():
            out = {}
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines()[1:]:
                parts = line.split()
                if len(parts) >= 3 and parts[2].lower() in _GENDERS:
                    spk = parts[0] if parts[0][0].isalpha() else f"p{parts[0]}"
                    out[spk] = _GENDERS[parts[2].lower()]
            return out
    return {}


@CORPORA.decorator("vctk")
class VCTKCorpus(Corpus):
    """VCTK in the layouts people have: 0.80 (``wav48/``), 0.92 (``wav48_silence_trimmed/``, per mic),
    and the 48 kHz Valentini set (``clean_testset_wav/``, ``clean_trainset_*_wav/``). ``--data vctk`` alone
    is VCTK 0.92 from the download cache (fetched and verified on first use). Transcripts (``txt/``) are
    attached to each item as ``Utterance.text``."""

    scheme = "vctk"
    downloads = ("vctk",)
    path_optional = True

    def _find(self, root: Path, name: str) -> list[Path]:
        return sorted([p for p in [root / name, *root.glob(f"*/{name}")] if p.is_dir()])

    def utterances(self) -> list[Utterance]:
        if not self.spec:
            from bench.downloads import resolve

            self.spec = str(resolve(self.downloads[0]))
        root = Path(self.spec).expanduser()
        if not root.is_dir():
            raise UsageError(f"--data vctk:{self.spec}: no such folder")
        opts = self.options
        if opts.split not in ("test", "all"):
            raise UsageError(f"--split must be 'test' or 'all', not {opts.split!r}")
        files: list[tuple[Path, str]] = []  # (path, speaker)
        if d := self._find(root, "wav48_silence_trimmed"):
            for p in sorted(d[0].glob(f"p*/*_{opts.mic}.flac")) + sorted(d[0].glob(f"s*/*_{opts.mic}.flac")):
                files.append((p, p.parent.name))
        elif d := self._find(root, "wav48"):
            files = [(p, p.parent.name) for p in sorted(d[0].glob("*/*.wav"))]
        else:
            test = self._find(root, "clean_testset_wav")
            train = sorted(p for p in [*root.glob("clean_trainset_*_wav"), *root.glob("*/clean_trainset_*_wav")]
                           if p.is_dir())
            dirs = test if opts.split == "test" else test + train
            for d_ in dirs:
                files += [(p, p.name.split("_")[0]) for p in sorted(d_.glob("*.wav"))]
            if not dirs:
                raise UsageError(
                    f"--data vctk:{self.spec}: no VCTK layout found (looked for wav48_silence_trimmed/ "
                    "(0.92), wav48/ (0.80), clean_testset_wav/ (Valentini 48 kHz))"
                )
        utts = []
        genders = _vctk_genders(root)
        for p, speaker in files:
            m = _VCTK_FILE.match(p.stem)
            utt_id = f"{m.group(1)}_{m.group(2)}" if m else p.stem
            utts.append(_probe(p, utt_id, speaker, genders.get(speaker, "")))
        if opts.split == "test" and not opts.speakers:
            utts = [u for u in utts if u.speaker in VCTK_TEST_SPEAKERS]
            if not utts:
                raise UsageError(f"--data vctk:{self.spec}: no files of the test speakers p232/p257 "
                                 "(use --split all or --speakers)")
        txt_dirs = _vctk_txt_dirs(root)
        return [_with_text(u, txt_dirs) for u in self._select(utts)]


def limit_utterances(utts: list[Utterance], n: int | None) -> list[Utterance]:
    """``--limit N``: N utterances taken round-robin across speakers (each speaker's in id order, speakers in
    order of their first id), returned sorted by id. ``[f1, f2, f3, m1, m2]`` limited to 3 is ``[f1, f2, m1]``."""
    if n is None or n >= len(utts):
        return list(utts)
    by_speaker: dict[str, list[Utterance]] = {}
    for u in sorted(utts, key=lambda u: u.id):
        by_speaker.setdefault(u.speaker, []).append(u)
    queues = list(by_speaker.values())
    picked: list[Utterance] = []
    for depth in range(max(len(q) for q in queues)):
        picked += [q[depth] for q in queues if depth < len(q)]
    return sorted(picked[:n], key=lambda u: u.id)


_LIBRISPEECH_ID = re.compile(r"^(\d+)-(\d+)-(\d+)$")


@CORPORA.decorator("librispeech")
class LibriSpeechCorpus(Corpus):
    """LibriSpeech (16 kHz FLAC): ``librispeech:test-clean`` from the download cache (fetched and verified on
    first use), or ``librispeech:PATH`` to a copy (a subset folder such as ``LibriSpeech/test-clean``, or a
    folder above it). Transcripts come from each chapter's ``*.trans.txt`` and are attached to each item as
    ``Utterance.text``; genders from ``SPEAKERS.TXT`` when present. Ids are ``SPEAKER-CHAPTER-UTTERANCE``."""

    scheme = "librispeech"

    @property
    def downloads(self) -> tuple[str, ...]:  # type: ignore[override]
        from bench.downloads import LIBRISPEECH_SUBSETS

        return (LIBRISPEECH_SUBSETS[self.spec],) if self.spec in LIBRISPEECH_SUBSETS else ()

    def _root(self) -> Path:
        from bench.downloads import LIBRISPEECH_SUBSETS, resolve

        if self.spec in LIBRISPEECH_SUBSETS:
            folder = resolve(LIBRISPEECH_SUBSETS[self.spec])
            found = sorted(folder.glob(f"**/{self.spec}"))
            return found[0] if found else folder
        root = Path(self.spec).expanduser()
        if not root.is_dir():
            known = ", ".join(LIBRISPEECH_SUBSETS)
            raise UsageError(f"--data librispeech:{self.spec}: neither a subset the suite downloads ({known}) nor "
                             "a folder")
        return root

    def utterances(self) -> list[Utterance]:
        root = self._root()
        transcripts = sorted(root.rglob("*.trans.txt"))
        if not transcripts:
            raise UsageError(f"--data librispeech:{self.spec}: no *.trans.txt files below {root} "
                             "(expected SPEAKER/CHAPTER/SPEAKER-CHAPTER.trans.txt)")
        genders = _librispeech_genders(root)
        utts = []
        for trans in transcripts:
            for line in trans.read_text(encoding="utf-8", errors="replace").splitlines():
                utt_id, _, text = line.strip().partition(" ")
                m = _LIBRISPEECH_ID.match(utt_id)
                if not m:
                    continue
                audio = trans.parent / f"{utt_id}.flac"
                if not audio.is_file():
                    self.skipped.append((str(audio), f"listed in {trans.name} but missing"))
                    continue
                utts.append(_probe(audio, utt_id, m.group(1), genders.get(m.group(1), ""), text.strip()))
        return self._select(utts)


def _librispeech_genders(root: Path) -> dict[str, str]:
    """Speaker -> "male"/"female" from SPEAKERS.TXT at ``root`` or up to two folders above it."""
    for folder in (root, root.parent, root.parent.parent):
        path = folder / "SPEAKERS.TXT"
        if path.is_file():
            out = {}
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                parts = [p.strip() for p in line.split("|")]
                if len(parts) >= 2 and not line.startswith(";") and parts[1].upper() in ("M", "F"):
                    out[parts[0]] = _GENDERS[parts[1].lower()]
            return out
    return {}


def open_corpus(spec: str, options: CorpusOptions | None = None) -> Corpus:
    """``"demo"``, ``"vctk"``, ``"vctk:PATH"``, ``"librispeech:test-clean"``, ``"librispeech:PATH"``,
    ``"folder:PATH"``, ``"manifest:FILE.csv"`` -> a Corpus (nothing is downloaded until it is listed).

    Raises:
        UsageError: unknown scheme (with suggestions) or a missing path.
    """
    options = options or CorpusOptions()
    scheme, _, rest = spec.partition(":")
    if not rest and scheme not in CORPORA and ("/" in spec or Path(spec).exists()):
        kind = "manifest" if spec.endswith(".csv") else "folder"
        raise UsageError(f"--data {spec}: a bare path; say what it holds, e.g. --data {kind}:{spec}")
    try:
        cls = CORPORA.get(scheme)
    except RegistryError as exc:
        raise UsageError(f"--data {spec!r}: {exc}") from None
    if scheme != "demo" and not rest and not cls.path_optional:
        raise UsageError(f"--data {scheme}: needs a path, e.g. {scheme}:/data/...")
    return cls(rest, options)
