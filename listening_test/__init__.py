"""Listening tests: build MUSHRA (ITU-R BS.1534-3), ACR/MOS (P.808), CCR, DCR, A/B and ABX tests from a run
folder, serve them, store ratings in SQLite and analyse them (screening, confidence intervals, tests).

Modules: ``testtypes`` (one object per kind of test, in a registry), ``definition`` (the versioned
test.json), ``stimuli`` (cutting, fades, loudness), ``build`` (run folder -> test folder), ``p808`` (gold
and trap stimuli), ``checks`` (qualification, headphone check), ``wording`` (texts.yaml, translations),
``webmushra`` (YAML config, CSV import/export), ``storage`` (SQLite), ``server`` (FastAPI app) with
``bodies`` (request bodies) and ``writer`` (storage off the event loop), ``admin``, ``screening`` and
``analysis``.
"""

from listening_test.definition import HIDDEN_REFERENCE, LOW_ANCHOR, MID_ANCHOR, TestDefinition

__all__ = ["HIDDEN_REFERENCE", "LOW_ANCHOR", "MID_ANCHOR", "TestDefinition"]
