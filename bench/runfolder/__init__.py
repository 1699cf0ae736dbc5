"""The run folder: the contract between ``bench run`` and everything that reads its results.

- :mod:`bench.runfolder.manifest`: run.json as a typed :class:`Manifest`, version-checked on every read;
- :mod:`bench.runfolder.wav`: the suite's 48 kHz WAVs (one reader, one writer);
- :mod:`bench.runfolder.paths`: where everything lives (:class:`RunDir`), ids as file names;
- :mod:`bench.runfolder.results`: result rows (:class:`Row`), the durable results log, results.csv;
- :mod:`bench.runfolder.summary`: summary.csv, failed rows and the corpus checksum (runner and merge).

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
