"""The download cache: fetch a registry entry once, verify it, unpack archives once, and check it on each use.

Layout under :func:`cache_root` (``$CODEC_BENCH_CACHE``, else ``$XDG_CACHE_HOME/codec-bench``, else
``~/.cache/codec-bench``)::

    files/<filename>               a verified download (archives are removed once unpacked)
    files/<filename>.verified.json its stamp: sha256, size, mtime, URL, how it was verified
    unpacked/<name>/               an archive's content
    unpacked/<name>.verified.json  its stamp: the archive's sha256 and URL, every file's size
    partial/<name>/                a download in progress (never used; removed by the next download)
    locks/<name>.lock              one downloader per entry across processes

A file becomes visible under ``files/`` only after it is complete and verified (it is renamed there from
``partial/``), and its stamp is written after that: a file without a stamp is re-verified against the
published hash, or downloaded again when none is published. On every use the stamp's size and mtime are
compared with the file (cheap); when they differ the file is hashed again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.atomic import write_text_atomic
from bench.downloads.entries import ENTRIES, Entry, get_entry
from bench.errors import UsageError

ENV_CACHE = "CODEC_BENCH_CACHE"
ENV_OFFLINE = "CODEC_BENCH_OFFLINE"
ENV_MIRROR = "CODEC_BENCH_MIRROR"
#: a JSON file of entries that replace or add to the built-in ones (private checkpoints, a test's files)
ENV_REGISTRY = "CODEC_BENCH_REGISTRY"
STAMP_SUFFIX = ".verified.json"

log = logging.getLogger(__name__)


class DownloadError(UsageError):
    """A file could not be fetched or verified; the message names the file, the URL and what to do."""


class OfflineError(DownloadError):
    """Offline, and the file is not in the cache; the message says where to put it."""


def cache_root() -> Path:
    """The cache folder (created on first download, not here)."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "codec-bench"


def is_offline() -> bool:
    """True when ``--offline`` was given or ``CODEC_BENCH_OFFLINE`` is set (1, true, yes)."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in ("1", "true", "yes", "on")


def mirror() -> str | None:
    """The mirror base URL (``--mirror``, ``CODEC_BENCH_MIRROR``): files are fetched as ``MIRROR/<filename>``."""
    value = os.environ.get(ENV_MIRROR, "").strip()
    return value.rstrip("/") if value else None


def configure(*, cache_dir: Path | None = None, offline: bool = False, mirror_url: str | None = None) -> None:
    """Apply the command-line settings (they go to the environment, so worker processes see them too)."""
    if cache_dir is not None:
        os.environ[ENV_CACHE] = str(Path(cache_dir).expanduser().resolve())
    if offline:
        os.environ[ENV_OFFLINE] = "1"
    if mirror_url:
        os.environ[ENV_MIRROR] = mirror_url


def entry(name: str) -> Entry:
    """The registry entry ``name``, with the entries of ``$CODEC_BENCH_REGISTRY`` (if set) taking precedence."""
    extra = _extra_entries()
    return extra[name] if name in extra else get_entry(name)


def all_entries() -> list[Entry]:
    """Built-in entries (replaced by ``$CODEC_BENCH_REGISTRY``'s of the same name), then the added ones."""
    extra = _extra_entries()
    return [extra.get(n, e) for n, e in ENTRIES.items()] + [e for n, e in extra.items() if n not in ENTRIES]


def _extra_entries() -> dict[str, Entry]:
    path = os.environ.get(ENV_REGISTRY)
    if not path:
        return {}
    try:
        doc = json.loads(Path(path).read_text())
        return {d["name"]: Entry(**{**d, "urls": tuple(d["urls"]), "used_by": tuple(d.get("used_by", ()))})
                for d in doc}
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise UsageError(f"${ENV_REGISTRY}={path}: not a list of download entries ({exc})") from None


# -- paths and stamps ---------------------------------------------------------------------------------------


def file_path(e: Entry) -> Path:
    """Where ``e``'s downloaded file lives."""
    return cache_root() / "files" / e.filename


def target_path(e: Entry) -> Path:
    """What :func:`resolve` returns for ``e``: the file, or the unpacked folder of an archive."""
    return cache_root() / "unpacked" / e.name if e.archive else file_path(e)


def _stamp_path(e: Entry) -> Path:
    target = target_path(e)
    return target.with_name(target.name + STAMP_SUFFIX)


def read_stamp(e: Entry) -> dict[str, Any] | None:
    """The stamp of ``e`` (what was verified, when and how), None when absent or unreadable."""
    try:
        return json.loads(_stamp_path(e).read_text())
    except (OSError, ValueError):
        return None


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _expected(e: Entry) -> str:
    if e.sha256:
        return f"sha256 {e.sha256}"
    if e.sha256_prefix:
        return f"sha256 starting {e.sha256_prefix}"
    return "no published checksum"


def _matches(e: Entry, digest: str, size: int) -> str | None:
    """None when ``digest``/``size`` fit what is published; otherwise what differs."""
    if e.size is not None and size != e.size:
        return f"size {size} bytes, expected {e.size}"
    if e.sha256 and digest != e.sha256:
        return f"sha256 {digest}, expected {e.sha256}"
    if e.sha256_prefix and not digest.startswith(e.sha256_prefix):
        return f"sha256 {digest[:16]}..., expected one starting {e.sha256_prefix}"
    return None


@dataclass
class Status:
    """What ``bench weights`` shows for one entry.

    Attributes:
        entry: the registry entry.
        path: the local path (file or unpacked folder).
        state: "ok", "missing", "corrupt" (with ``problem``) or "unverified" (no stamp).
        size: bytes on disk (files) or of the unpacked files, None when missing.
        sha256: the verified hash (for an archive: of the archive), None when missing.
        problem: why it is not usable.
    """

    entry: Entry
    path: Path
    state: str
    size: int | None = None
    sha256: str | None = None
    problem: str = ""


def check(name: str, *, full: bool = False) -> Status:
    """Whether ``name`` is in the cache and intact. Cheap unless ``full`` (rehash) or the file changed.

    Never touches the network.
    """
    e = entry(name)
    target, stamp = target_path(e), read_stamp(e)
    if not target.exists():
        return Status(e, target, "missing")
    if stamp is None:
        return Status(e, target, "unverified", problem="no verification stamp (an interrupted download?)")
    if e.archive:
        problem = _folder_problem(target, stamp)
        size = sum(stamp.get("files", {}).values())
        return Status(e, target, "corrupt" if problem else "ok", size, stamp.get("sha256"), problem or "")
    st = target.stat()
    digest = stamp.get("sha256", "")
    changed = st.st_size != stamp.get("size") or st.st_mtime_ns != stamp.get("mtime_ns")
    if full or changed:
        digest = sha256_of(target)
        problem = _matches(e, digest, st.st_size)
        if problem is None and digest != stamp.get("sha256"):
            problem = f"sha256 {digest} differs from the {stamp.get('sha256')} verified at download"
        if problem:
            return Status(e, target, "corrupt", st.st_size, digest, f"changed on disk: {problem}")
    return Status(e, target, "ok", st.st_size, digest)


def _folder_problem(folder: Path, stamp: dict[str, Any]) -> str | None:
    """Every file the archive held is there with its size (no hashing: that would read gigabytes)."""
    for rel, size in stamp.get("files", {}).items():
        p = folder / rel
        try:
            if p.stat().st_size != size:
                return f"{p}: size changed ({p.stat().st_size} bytes, unpacked {size})"
        except OSError:
            return f"{p}: missing (unpacked from the archive)"
    return None


def cached(name: str) -> Path | None:
    """The local path of ``name`` when it is in the cache and intact, else None. Never downloads."""
    s = check(name)
    return s.path if s.state == "ok" else None


# -- resolving ----------------------------------------------------------------------------------------------

#: entries resolved in this process (run.json records them)
_USED: dict[str, dict[str, Any]] = {}


def resolve(name: str, *, progress: bool = True) -> Path:
    """The local path of registry entry ``name`` (a file, or the unpacked folder of an archive),
    downloading and verifying it first unless it is already cached and intact.

    This is the one function systems, metrics and corpora call for released files, e.g.
    ``resolve("whisper-small")`` or ``resolve("audiodec-exp")``. It is safe to call from several processes at
    once (one downloads, the others wait for it) and cheap when the file is cached.

    Args:
        name: a registry name (``bench weights`` lists them).
        progress: show a progress bar while downloading.
    Returns:
        The verified path in the cache.
    Raises:
        OfflineError: offline (``--offline``, ``CODEC_BENCH_OFFLINE``) and not cached; names the file, its URL
            and the path to put it at.
        DownloadError: every URL failed, or the download does not match its published checksum (nothing is
            left in the cache).
    """
    e = entry(name)
    status = check(name)
    if status.state != "ok":
        from filelock import FileLock

        locks = cache_root() / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        with FileLock(str(locks / f"{e.name}.lock")):
            status = check(name)  # another process may have fetched it while we waited
            if status.state != "ok":
                _fetch(e, status)
                status = check(name)
                if status.state != "ok":
                    raise DownloadError(f"{e.name}: {status.path} is not usable after download: {status.problem}")
    _USED[e.name] = provenance(e.name)
    return status.path


def _fetch(e: Entry, status: Status) -> None:
    """Download (and unpack) ``e`` into the cache; the caller holds its lock."""
    if status.state == "corrupt":
        print(f"warning: {status.path}: {status.problem}; fetching {e.name} again", file=sys.stderr)
        _remove(status.path)
        _remove(_stamp_path(e))
    elif status.state == "unverified" and e.archive:
        _remove(status.path)  # an unpack that did not finish
    if file_path(e).is_file():  # put there by hand for offline use, or a download not yet stamped
        try:
            _verify_placed(e)
            return
        except DownloadError as exc:
            print(f"warning: {exc}; fetching it again", file=sys.stderr)
            _remove(file_path(e))
    if is_offline():
        raise OfflineError(_offline_message(e))
    staging = cache_root() / "partial" / e.name
    _remove(staging)  # leftovers of a killed download (we hold the lock: nobody else is writing there)
    staging.mkdir(parents=True)
    try:
        if e.notice:
            print(f"note: {e.notice}", file=sys.stderr)
        part = staging / e.filename
        url = _download(e, part)
        digest, size = sha256_of(part), part.stat().st_size
        problem = _matches(e, digest, size)
        if problem:
            raise DownloadError(f"{e.name}: the file from {url} does not match its published checksum ({problem}); "
                                "nothing was kept. Try again later, or check the mirror.")
        if e.sha256 is None:
            print(f"warning: {e.name}: no full checksum is published for {url}; recorded the sha256 of this "
                  f"download, {digest}, and every later use is checked against it", file=sys.stderr)
        how = "published sha256" if e.sha256 else ("published sha256 prefix" if e.sha256_prefix
                                                    else "recorded at first download")
        record = {"name": e.name, "url": url, "sha256": digest, "size": size, "checksum": how,
                  "licence": e.licence}
        if e.archive:
            _unpack(e, part, staging, record)
        else:
            final = file_path(e)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, final)
            st = final.stat()
            write_text_atomic(_stamp_path(e), json.dumps({**record, "mtime_ns": st.st_mtime_ns}, indent=1))
    finally:
        _remove(staging)


def _download(e: Entry, part: Path) -> str:
    """Fetch ``e`` into ``part`` from the mirror (only) or the publisher's URLs in turn; returns the URL used."""
    import pooch

    logging.getLogger("pooch").setLevel(logging.WARNING)
    base = mirror()
    urls = [f"{base}/{e.filename}"] if base else list(e.urls)
    errors = []
    for url in urls:
        try:
            pooch.HTTPDownloader(progressbar=sys.stderr.isatty(), timeout=60)(url, str(part), None)
            return url
        except OSError as exc:  # every requests error (HTTP status, connection, timeout) is one: next URL
            errors.append(f"{url}: {exc.__class__.__name__}: {exc}")
            _remove(part)
    raise DownloadError(f"{e.name}: could not download {e.filename} ({'; '.join(errors)}). "
                        f"{_manual_hint(e)}")


def _manual_hint(e: Entry) -> str:
    target = file_path(e)
    return (f"Download it yourself from {e.urls[0]} and run `bench download {e.name} --from FILE` "
            f"(or put it at {target} and run `bench download {e.name}`), or set {ENV_MIRROR}")


def _offline_message(e: Entry) -> str:
    return (f"offline: {e.name} ({e.filename}) is not in the cache {cache_root()}. On a machine with internet "
            f"run `bench download {e.name}` (or fetch {e.urls[0]}), then copy it to {file_path(e)} and run "
            f"`bench download {e.name} --offline` to verify it{' and unpack it' if e.archive else ''}")


def adopt(name: str, source: Path) -> Path:
    """Put a file fetched by hand into the cache (verified like a download); returns :func:`resolve`'s path.

    Raises:
        DownloadError: ``source`` does not match the published checksum.
    """
    e = entry(name)
    source = Path(source)
    if not source.is_file():
        raise UsageError(f"--from {source}: no such file")
    final = file_path(e)
    if source.resolve() != final.resolve():
        staging = cache_root() / "partial" / e.name
        _remove(staging)
        staging.mkdir(parents=True)
        shutil.copyfile(source, staging / e.filename)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / e.filename, final)
        _remove(staging)
    return _verify_placed(e)


def _verify_placed(e: Entry) -> Path:
    """Verify (and unpack) a file put at ``files/<filename>`` by hand."""
    final = file_path(e)
    digest, size = sha256_of(final), final.stat().st_size
    problem = _matches(e, digest, size)
    if problem:
        raise DownloadError(f"{e.name}: {final} does not match the published checksum ({problem})")
    record = {"name": e.name, "url": f"file://{final}", "sha256": digest, "size": size,
              "checksum": "published sha256" if e.sha256 else "recorded when placed by hand", "licence": e.licence}
    if e.archive:
        staging = cache_root() / "partial" / e.name
        _remove(staging)
        staging.mkdir(parents=True)
        try:
            _unpack(e, final, staging, record)
        finally:
            _remove(staging)
    else:
        write_text_atomic(_stamp_path(e), json.dumps({**record, "mtime_ns": final.stat().st_mtime_ns}, indent=1))
    return target_path(e)


def placed_by_hand(name: str) -> bool:
    """True when the entry's file sits in ``files/`` without a stamp (copied there for offline use)."""
    e = entry(name)
    return file_path(e).is_file() and read_stamp(e) is None


def _unpack(e: Entry, archive: Path, staging: Path, record: dict[str, Any]) -> None:
    """Unpack ``archive`` into ``unpacked/<name>/`` (through ``staging``), stamp it, remove the archive."""
    tmp = staging / "unpacked"
    tmp.mkdir()
    if e.archive == "zip":
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                _safe_member(info.filename, e)
            z.extractall(tmp)
    else:
        with tarfile.open(archive, "r:*") as t:
            for member in t.getmembers():
                _safe_member(member.name, e)
                if not (member.isfile() or member.isdir()):
                    raise DownloadError(f"{e.name}: archive member {member.name} is not a file or folder")
            t.extractall(tmp, filter="data")
    files = {p.relative_to(tmp).as_posix(): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.is_file()}
    final = target_path(e)
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove(final)
    os.replace(tmp, final)
    write_text_atomic(_stamp_path(e), json.dumps({**record, "files": files}, indent=1))
    _remove(archive)


def _safe_member(name: str, e: Entry) -> None:
    p = Path(name)
    if p.is_absolute() or ".." in p.parts:
        raise DownloadError(f"{e.name}: archive member {name!r} would land outside the cache; refused")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


# -- provenance ---------------------------------------------------------------------------------------------


def provenance(name: str) -> dict[str, Any]:
    """What run.json records for a cached entry: name, file, URL, SHA-256, how it was verified, licence."""
    e = entry(name)
    stamp = read_stamp(e) or {}
    return {"name": e.name, "file": e.filename, "path": str(target_path(e)), "url": stamp.get("url", e.urls[0]),
            "sha256": stamp.get("sha256"), "checksum": stamp.get("checksum"), "licence": e.licence,
            "licence_url": e.licence_url}


def used_in_this_process() -> dict[str, dict[str, Any]]:
    """The entries :func:`resolve` returned in this process, name -> :func:`provenance`."""
    return dict(_USED)


def availability(name: str) -> str | None:
    """None when ``name`` can be had (cached, or downloadable because not offline); otherwise why not."""
    status = check(name)
    if status.state == "ok" or not is_offline():
        return None
    return _offline_message(status.entry)


def first_use_note(names: tuple[str, ...]) -> str | None:
    """``"downloads 88 MB on first use"``-style note for the entries not cached yet, None when all are."""
    missing = [entry(n) for n in names if check(n).state != "ok"]
    if not missing:
        return None
    known = sum(e.size for e in missing if e.size)
    unknown = [e.name for e in missing if not e.size]
    size = f"{known / 1e6:.0f} MB" if known else ""
    if unknown:
        size = f"{size} + " if size else ""
        size += f"{', '.join(unknown)} (size not published)"
    return f"downloads {size} on first use"
