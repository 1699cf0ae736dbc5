"""The run folder: the contract between ``bench run`` and everything that reads its results.

- :mod:`bench.runfolder.manifest`: run.json as a typed :class:`Manifest`, version-checked on every read;
- :mod:`bench.runfolder.wav`: the suite's 48 kHz WAVs (one reader, one writer);
- :mod:`bench.runfolder.summary`: summary.csv, failed rows and the corpus checksum (runner and merge);
- result rows (:class:`bench.store.Row`) and the results log live in :mod:`bench.store`.

See docs/run_format.md for the layout.
"""

from bench.runfolder.manifest import (
    FORMAT_VERSION,
    CorpusInfo,
    Failure,
    Manifest,
    RunFolderError,
    evaluation_rate,
    read_manifest,
    write_manifest,
)

__all__ = ["FORMAT_VERSION", "CorpusInfo", "Failure", "Manifest", "RunFolderError", "evaluation_rate",
           "read_manifest", "write_manifest"]
