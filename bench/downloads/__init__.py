"""Released weights and corpora fetched on first use into a verified cache.

The public entry point is :func:`resolve`: ``resolve("whisper-small")`` returns the local path of that registry
entry, downloading and verifying it unless it is cached (or raising :class:`OfflineError`, with the file
name and where to put it, when offline). :data:`ENTRIES` lists what the suite knows (`bench weights`).
Systems, metrics and corpora declare the entries they need in a ``downloads`` class attribute.
"""

from bench.downloads.cache import (
    ENV_CACHE,
    ENV_MIRROR,
    ENV_OFFLINE,
    ENV_REGISTRY,
    DownloadError,
    OfflineError,
    Status,
    adopt,
    all_entries,
    availability,
    cache_root,
    cached,
    check,
    configure,
    entry,
    first_use_note,
    is_offline,
    mirror,
    provenance,
    resolve,
    used_in_this_process,
)
from bench.downloads.entries import ENTRIES, LIBRISPEECH_SUBSETS, Entry

__all__ = [
    "ENTRIES", "ENV_CACHE", "ENV_MIRROR", "ENV_OFFLINE", "ENV_REGISTRY", "LIBRISPEECH_SUBSETS", "DownloadError",
    "Entry", "OfflineError", "Status", "adopt", "all_entries", "availability", "cache_root", "cached", "check",
    "configure", "entry", "first_use_note", "is_offline", "mirror", "provenance", "resolve",
    "used_in_this_process",
]
