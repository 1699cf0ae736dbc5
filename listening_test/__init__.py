"""Listening tests: build MUSHRA (ITU-R BS.1534-3) and MOS (ACR) tests from a run folder, serve them,
store ratings in SQLite and analyse them (post-screening, confidence intervals, pairwise tests).

Modules: ``definition`` (the versioned test.json), ``stimuli`` (cutting, fades, loudness),
``build`` (run folder -> test folder), ``webmushra`` (YAML config, CSV import/export), ``storage``
(SQLite), ``server`` (FastAPI app), ``screening`` and ``analysis``.
"""

from listening_test.definition import HIDDEN_REFERENCE, LOW_ANCHOR, MID_ANCHOR, TestDefinition

__all__ = ["HIDDEN_REFERENCE", "LOW_ANCHOR", "MID_ANCHOR", "TestDefinition"]
