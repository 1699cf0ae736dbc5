"""Result storage behind one small interface; SQLite (stdlib, WAL mode) is the implementation.

Every submitted trial is committed in its own transaction, so a participant resumes where they left
off after closing the tab or a server restart. A trial is stored once per participant: resending the
same submission (same idempotency key and ratings) is acknowledged as a duplicate, a different one is
refused. The methods block: the server calls them from worker threads, never on its event loop.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from bench.errors import UsageError
from listening_test.ratings import Rating

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS participants (
    id TEXT PRIMARY KEY, created TEXT NOT NULL, consent_at TEXT, level_at TEXT, training_at TEXT,
    questionnaire TEXT, finished_at TEXT, audio_rate INTEGER, external_id TEXT, checks TEXT);
CREATE TABLE IF NOT EXISTS submissions (
    participant TEXT NOT NULL REFERENCES participants(id), trial TEXT NOT NULL, idem_key TEXT NOT NULL,
    submitted_at TEXT NOT NULL, time_ms INTEGER NOT NULL, comment TEXT NOT NULL,
    PRIMARY KEY (participant, trial));
CREATE TABLE IF NOT EXISTS ratings (
    participant TEXT NOT NULL, trial TEXT NOT NULL, item TEXT NOT NULL, stimulus TEXT NOT NULL,
    system TEXT NOT NULL, score REAL NOT NULL CHECK (score >= -100 AND score <= 100),
    PRIMARY KEY (participant, trial, stimulus),
    FOREIGN KEY (participant, trial) REFERENCES submissions(participant, trial));
"""
SCHEMA_VERSION = "2"
#: columns added after version 1 (added to older databases on open)
ADDED_COLUMNS = {"participants": {"external_id": "TEXT", "checks": "TEXT"}}
PROGRESS_STEPS = ("level", "training")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class Participant:
    """A participant's session state."""

    id: str
    created: str
    consent_at: str | None
    level_at: str | None
    training_at: str | None
    questionnaire: dict[str, str] | None
    finished_at: str | None
    audio_rate: int | None
    #: the crowd-worker id from the entry URL (Prolific PID, MTurk worker id), if any
    external_id: str | None = None
    #: outcomes of the checks before the test: ``{"headphone": {...}, "qualification": {...}}``
    checks: dict[str, dict] = field(default_factory=dict)


@dataclass
class TrialRating:
    """One stimulus score inside a submission."""

    stimulus: str
    system: str
    score: float


class Storage(Protocol):
    """What the server and the analysis need from a result store."""

    def create_participant(self, participant_id: str, external_id: str | None = None) -> Participant: ...
    def participant(self, participant_id: str) -> Participant | None: ...
    def set_progress(self, participant_id: str, step: str, audio_rate: int | None = None) -> None: ...
    def submit_trial(self, participant_id: str, trial: str, item: str, key: str, ratings: list[TrialRating],
                     time_ms: int, comment: str) -> str: ...
    def completed_trials(self, participant_id: str) -> list[str]: ...
    def save_check(self, participant_id: str, name: str, outcome: dict) -> bool: ...
    def save_questionnaire(self, participant_id: str, answers: dict[str, str]) -> bool: ...
    def participants(self) -> list[Participant]: ...
    def ratings(self) -> list[Rating]: ...
    def comments(self) -> list[tuple[str, str, str]]: ...
    def batch(self) -> AbstractContextManager[None]: ...


class SQLiteStorage:
    """SQLite in WAL mode; one connection per thread, explicit ``BEGIN IMMEDIATE`` transactions."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._conn().executescript(SCHEMA)  # executescript manages its own transaction
        with self._tx() as db:
            for table, columns in ADDED_COLUMNS.items():
                have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                for name, kind in columns.items():
                    if name not in have:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    class _Tx:
        """A transaction, or a savepoint inside the :meth:`batch` this thread has open."""

        def __init__(self, conn: sqlite3.Connection, nested: bool) -> None:
            self.conn, self.nested = conn, nested

        def __enter__(self) -> sqlite3.Connection:
            self.conn.execute("SAVEPOINT op" if self.nested else "BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, exc_type, exc, tb) -> None:
            if self.nested:
                if exc_type is not None:
                    self.conn.execute("ROLLBACK TO op")
                self.conn.execute("RELEASE op")
            else:
                self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")

    def _tx(self) -> SQLiteStorage._Tx:
        return self._Tx(self._conn(), nested=getattr(self._local, "batch", False))

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group the writes made by this thread inside the block into one commit (one fsync); each write
        is still all-or-nothing on its own (a savepoint). Nothing is durable before the block ends."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        self._local.batch = True
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
        finally:
            self._local.batch = False

    def create_participant(self, participant_id: str, external_id: str | None = None) -> Participant:
        with self._tx() as db:
            db.execute("INSERT INTO participants (id, created, consent_at, external_id) VALUES (?, ?, ?, ?)",
                       (participant_id, _now(), _now(), external_id))
        return self.participant(participant_id)  # type: ignore[return-value]

    def participant(self, participant_id: str) -> Participant | None:
        row = self._conn().execute(
            "SELECT id, created, consent_at, level_at, training_at, questionnaire, finished_at, audio_rate, "
            "external_id, checks FROM participants WHERE id = ?", (participant_id,)).fetchone()
        if row is None:
            return None
        return Participant(*row[:5], json.loads(row[5]) if row[5] else None, *row[6:9],
                           checks=json.loads(row[9]) if row[9] else {})

    def participants(self) -> list[Participant]:
        ids = [r[0] for r in self._conn().execute("SELECT id FROM participants ORDER BY created")]
        return [p for p in (self.participant(i) for i in ids) if p]

    def set_progress(self, participant_id: str, step: str, audio_rate: int | None = None) -> None:
        if step not in PROGRESS_STEPS:
            raise ValueError(f"unknown progress step {step!r}")
        with self._tx() as db:
            db.execute(f"UPDATE participants SET {step}_at = COALESCE({step}_at, ?) WHERE id = ?",
                       (_now(), participant_id))
            if audio_rate is not None:
                db.execute("UPDATE participants SET audio_rate = ? WHERE id = ?", (audio_rate, participant_id))

    def submit_trial(self, participant_id: str, trial: str, item: str, key: str, ratings: list[TrialRating],
                     time_ms: int, comment: str) -> str:
        """Store one trial atomically. Returns ``"stored"``, ``"duplicate"`` (same key and ratings: a retry)
        or ``"conflict"`` (stored before with another key or other ratings; the new ones are not stored)."""
        with self._tx() as db:
            row = db.execute("SELECT idem_key FROM submissions WHERE participant = ? AND trial = ?",
                             (participant_id, trial)).fetchone()
            if row is not None:
                stored = set(db.execute("SELECT stimulus, score FROM ratings WHERE participant = ? AND trial = ?",
                                        (participant_id, trial)))
                same = row[0] == key and stored == {(r.stimulus, r.score) for r in ratings}
                return "duplicate" if same else "conflict"
            db.execute("INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?)",
                       (participant_id, trial, key, _now(), time_ms, comment))
            db.executemany("INSERT INTO ratings VALUES (?, ?, ?, ?, ?, ?)",
                           [(participant_id, trial, item, r.stimulus, r.system, r.score) for r in ratings])
        return "stored"

    def save_check(self, participant_id: str, name: str, outcome: dict) -> bool:
        """Record the outcome of check ``name`` once; ``False`` (nothing changed) when already recorded."""
        with self._tx() as db:
            row = db.execute("SELECT checks FROM participants WHERE id = ?", (participant_id,)).fetchone()
            checks = json.loads(row[0]) if row and row[0] else {}
            if name in checks:
                return False
            checks[name] = outcome
            db.execute("UPDATE participants SET checks = ? WHERE id = ?", (json.dumps(checks), participant_id))
        return True

    def completed_trials(self, participant_id: str) -> list[str]:
        return [r[0] for r in self._conn().execute(
            "SELECT trial FROM submissions WHERE participant = ? ORDER BY submitted_at", (participant_id,))]

    def save_questionnaire(self, participant_id: str, answers: dict[str, str]) -> bool:
        """Store the answers and finish the session; ``False`` (nothing changed) when already answered."""
        with self._tx() as db:
            cur = db.execute("UPDATE participants SET questionnaire = ?, finished_at = ? "
                             "WHERE id = ? AND finished_at IS NULL", (json.dumps(answers), _now(), participant_id))
        return cur.rowcount == 1

    def ratings(self) -> list[Rating]:
        rows = self._conn().execute(
            "SELECT r.participant, r.trial, r.item, r.system, r.score, s.time_ms, s.comment FROM ratings r "
            "JOIN submissions s USING (participant, trial) ORDER BY s.submitted_at, r.trial, r.system")
        return [Rating(*row) for row in rows]

    def comments(self) -> list[tuple[str, str, str]]:
        """(participant, trial, comment) for every non-empty comment."""
        return list(self._conn().execute(
            "SELECT participant, trial, comment FROM submissions WHERE comment != '' ORDER BY submitted_at"))


def open_storage(url: str | None, test_dir: Path) -> Storage:
    """``None`` or ``sqlite:///PATH`` -> SQLite (default ``TEST_DIR/results.sqlite``); anything else is refused."""
    if url is None:
        return SQLiteStorage(Path(test_dir) / "results.sqlite")
    if url.startswith("sqlite:///"):
        return SQLiteStorage(Path(url[len("sqlite:///"):]))
    if url.split(":", 1)[0] in ("postgres", "postgresql", "postgresql+psycopg"):
        raise UsageError("--db: PostgreSQL storage is not supported yet; leave --db out to use SQLite in the test folder")
    raise UsageError(f"--db: unsupported database URL {url!r} (use sqlite:///PATH)")
