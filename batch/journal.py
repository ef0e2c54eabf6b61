"""The durable journal: one SQLite file recording runs, row outcomes and pre-send intents.

SQLite in WAL mode with ``synchronous=NORMAL``: a committed transaction survives ``kill -9`` of
the process (not necessarily a power cut), without an fsync per row. The connection holds the
file in ``locking_mode=EXCLUSIVE``, so a second process opening the same journal gets a clear
`JournalError` instead of two runs interleaving; use it from one thread at a time. Schema
version: ``PRAGMA user_version``; the file is recognised by ``PRAGMA application_id``.

Runs and resume: `Journal.begin` resumes the latest run when it did not complete (no end
record, or ended ``interrupted``/``auth_stopped``/``failed``) and the job (SHA-256 and kind) is
the same; refuses when that job changed (unless ``force_new``); and starts a new run after a
``completed`` one, so a nightly job does its work every night.

Intents: before a send whose result may be unknown, the engine notes what it is about to do
(`RunState.note_intent`) in the intent log beside the journal (batch.intent_log: one append per
send, far cheaper than a commit). A row with a final outcome in the journal is settled; an intent
of a row without one marks a row that was in flight: refetch, don't resend. (Schema v1's
`intents` table is no longer written.)
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import orjson

from batch.errors import BatchError
from batch.intent_log import IntentLog
from batch.outcome import Outcome, RowOutcome

__all__ = ["END_STATUSES", "Journal", "JournalError", "RunState", "journal_path_for"]

SCHEMA_VERSION = 1
APPLICATION_ID = 0x554F4D42  # "UOMB"
END_STATUSES = frozenset({"completed", "interrupted", "auth_stopped", "failed"})
_SECRET_KEY = re.compile(r"secret|passw", re.IGNORECASE)
_REDACTED = frozenset({"", "*", "***", "redacted", "<redacted>", "[redacted]"})
_OUTCOME_COLUMNS = (
    "row, action, ticket_id, outcome, attempts, conflicts, error_type, error_message,"
    " error_detail, request_id, changed_fields, before_json, after_json, started_at, finished_at"
)
_SCHEMA = f"""
CREATE TABLE runs (
    run_id INTEGER PRIMARY KEY, job_sha256 TEXT NOT NULL, kind TEXT NOT NULL,
    job_path TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT, end_status TEXT,
    settings_json TEXT NOT NULL, tool_version TEXT NOT NULL);
CREATE TABLE outcomes (
    run_id INTEGER NOT NULL REFERENCES runs(run_id), {_OUTCOME_COLUMNS},
    PRIMARY KEY (run_id, row));
CREATE TABLE intents (
    run_id INTEGER NOT NULL REFERENCES runs(run_id), row INTEGER NOT NULL,
    ticket_id TEXT NOT NULL, attempt INTEGER NOT NULL, intent_json TEXT NOT NULL,
    noted_at TEXT NOT NULL, PRIMARY KEY (run_id, row));
PRAGMA application_id = {APPLICATION_ID};
PRAGMA user_version = {SCHEMA_VERSION};
"""


class JournalError(BatchError):
    """The journal cannot be used: not a journal, newer, locked, broken, or a changed job."""


def intent_log_path(journal_path: Path) -> Path:
    """The intent log beside a journal (`<journal>-intents`, like SQLite's own `-wal`)."""
    return journal_path.with_name(journal_path.name + "-intents")


def journal_path_for(job_path: Path) -> Path:
    """The journal's conventional place: ``<job file name>.journal.sqlite`` beside the job."""
    return job_path.with_name(job_path.name + ".journal.sqlite")


def _utc_now() -> str:
    return datetime.now(UTC).isoformat()


@contextmanager
def _sqlite_errors(path: Path, doing: str) -> Iterator[None]:
    """Turn sqlite3 failures into a `JournalError` naming the file (a broken journal is fatal)."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            raise JournalError(f"{path}: journal in use by another uom-batch process") from exc
        raise JournalError(f"{path}: {doing} failed: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise JournalError(f"{path}: not a uom-batch journal ({exc})") from exc


class Journal:
    """An open journal file. Use `Journal.open` as a context manager."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        self._intents = IntentLog(intent_log_path(path))

    @classmethod
    def open(cls, path: Path | str) -> Self:
        """Open or create the journal at `path`; `JournalError` if it is not one we can use."""
        path = Path(path)
        with _sqlite_errors(path, "opening"):
            conn = sqlite3.connect(path, timeout=0.5, isolation_level=None,
                                   check_same_thread=False)  # allow anyio.to_thread
            try:
                _configure(conn)
                _ensure_schema(conn, path)
            except BaseException:
                conn.close()
                raise
        return cls(path, conn)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (committed data is already durable)."""
        self._intents.close()
        self._conn.close()

    def begin(self, job_sha256: str, kind: str, job_path: Path | str, settings: dict[str, Any],
              tool_version: str, *, force_new: bool = False, resume_only: bool = False) -> RunState:
        """Resume the latest run of this job if it did not complete, else start a new run.

        `resume_only` (the CLI's --resume) refuses to start a new run: there must be one to resume.
        """
        _refuse_secrets(settings)
        with _sqlite_errors(self.path, "starting a run"):
            latest = self._conn.execute("SELECT run_id, job_sha256, kind, job_path, end_status"
                                        " FROM runs ORDER BY run_id DESC LIMIT 1").fetchone()
            if latest is not None and latest[4] != "completed" and not force_new:
                self._check_same_job(latest, job_sha256, kind)
                return self._resume(latest[0])
            if resume_only:
                raise JournalError(f"{self.path}: nothing to resume (no interrupted run of this job);"
                                   " run without --resume to start a new run")
            return self._new_run(job_sha256, kind, str(job_path), settings, tool_version)

    def _check_same_job(self, latest: tuple[Any, ...], job_sha256: str, kind: str) -> None:
        run_id, old_sha, old_kind, old_path, _ = latest
        if (old_sha, old_kind) != (job_sha256, kind):
            raise JournalError(
                f"{self.path}: job file changed since the interrupted run {run_id} of {old_path}"
                f" ({old_kind}, sha256 {old_sha[:12]}; now {kind}, sha256 {job_sha256[:12]});"
                " refusing to resume: start a new run with --new-run or delete the journal")

    def _resume(self, run_id: int) -> RunState:
        self._conn.execute(
            "UPDATE runs SET ended_at = NULL, end_status = NULL WHERE run_id = ?", (run_id,))
        return RunState(self._conn, self.path, run_id, self._intents, resumed=True)

    def _new_run(self, job_sha256: str, kind: str, job_path: str, settings: dict[str, Any],
                 tool_version: str) -> RunState:
        blob = json.dumps(settings, sort_keys=True, ensure_ascii=False, default=str)
        cur = self._conn.execute(
            "INSERT INTO runs (job_sha256, kind, job_path, started_at, settings_json,"
            " tool_version) VALUES (?, ?, ?, ?, ?, ?)",
            (job_sha256, kind, job_path, _utc_now(), blob, tool_version))
        assert cur.lastrowid is not None
        return RunState(self._conn, self.path, cur.lastrowid, self._intents, resumed=False)


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")  # one process per journal
    if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
        raise sqlite3.OperationalError("cannot switch to WAL mode")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")


def _ensure_schema(conn: sqlite3.Connection, path: Path) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if tables == 0:
        conn.executescript(f"BEGIN; {_SCHEMA} COMMIT;")
    elif app_id != APPLICATION_ID or version == 0:
        raise JournalError(f"{path}: an SQLite file, but not a uom-batch journal")
    elif version > SCHEMA_VERSION:
        raise JournalError(f"{path}: journal schema v{version} is newer than this uom-batch"
                           f" understands (v{SCHEMA_VERSION}); upgrade uom-batch")


def _refuse_secrets(settings: object, where: str = "settings") -> None:
    """Defence in depth: the caller redacts; a secret-looking key with a real value is a bug."""
    if isinstance(settings, dict):
        for key, value in settings.items():
            named_secret = _SECRET_KEY.search(str(key)) is not None
            if named_secret and not _is_redacted(value):
                raise ValueError(f"{where}.{key} looks like a secret; redact it before journalling")
            _refuse_secrets(value, f"{where}.{key}")
    elif isinstance(settings, list | tuple):
        for i, item in enumerate(settings):
            _refuse_secrets(item, f"{where}[{i}]")


def _is_redacted(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in _REDACTED)


class RunState:
    """One run in the journal: what is done, what was in flight, and recording more."""

    def __init__(self, conn: sqlite3.Connection, path: Path, run_id: int, intents: IntentLog, *,
                 resumed: bool) -> None:
        self._intents = intents
        self._conn = conn
        self._path = path
        self.run_id = run_id
        self.resumed = resumed

    @contextmanager
    def _transaction(self, doing: str) -> Iterator[None]:
        with _sqlite_errors(self._path, doing):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def final_rows(self) -> set[int]:
        """Rows that already have a final outcome (anything but skipped) in this run."""
        with _sqlite_errors(self._path, "reading outcomes"):
            cur = self._conn.execute(
                "SELECT row FROM outcomes WHERE run_id = ? AND outcome != ?",
                (self.run_id, Outcome.SKIPPED.value))
            return {r for (r,) in cur}

    def in_flight(self) -> dict[int, dict[str, Any]]:
        """Rows noted before a send, no final outcome: {row: {ticket_id, attempt, noted_at, intent}}."""
        with _sqlite_errors(self._path, "reading intents"):
            noted = self._intents.entries(self.run_id)
            done = self._final_among(list(noted))
        return {row: entry for row, entry in noted.items() if row not in done}

    def _final_among(self, rows: list[int]) -> set[int]:
        done: set[int] = set()
        for start in range(0, len(rows), 900):  # SQLite's bound-parameter limit
            chunk = rows[start:start + 900]
            done.update(r for (r,) in self._conn.execute(
                f"SELECT row FROM outcomes WHERE run_id = ? AND outcome != ? AND row IN"
                f" ({', '.join('?' * len(chunk))})", (self.run_id, Outcome.SKIPPED.value, *chunk)))
        return done

    def note_intent(self, row: int, ticket_id: str, attempt: int, intent: dict[str, Any]) -> None:
        """Durably note what is about to be sent for `row` (written before returning)."""
        self.note_intents([(row, ticket_id, attempt, intent)])

    def note_intents(self, entries: Sequence[tuple[int, str, int, dict[str, Any]]]) -> None:
        """Intents (row, ticket_id, attempt, intent), in the intent log with one system call."""
        try:
            self._intents.append(self.run_id, entries, _utc_now())
        except OSError as exc:
            raise JournalError(f"{self._intents.path}: cannot note intents: {exc.strerror}") from None

    def record(self, outcomes: Sequence[RowOutcome]) -> None:
        """Upsert outcomes in one transaction (a final outcome settles the row's intent)."""
        with self._transaction("recording outcomes"):
            self._conn.executemany(
                f"INSERT OR REPLACE INTO outcomes (run_id, {_OUTCOME_COLUMNS})"
                f" VALUES ({', '.join('?' * 16)})",
                [_outcome_to_db(self.run_id, o) for o in outcomes])
        if self._intents.too_large():
            self._intents.rewrite(self.run_id, self.in_flight().items())

    def outcomes(self, batch_size: int = 1000) -> Iterator[RowOutcome]:
        """All outcomes of this run ordered by row, streamed from the file."""
        with _sqlite_errors(self._path, "reading outcomes"):
            cur = self._conn.execute(
                f"SELECT {_OUTCOME_COLUMNS} FROM outcomes WHERE run_id = ? ORDER BY row",
                (self.run_id,))
            while batch := cur.fetchmany(batch_size):
                yield from (_outcome_from_db(r) for r in batch)

    def counts(self) -> dict[Outcome, int]:
        """Number of rows per outcome in this run (every outcome present, zero if none)."""
        counts = dict.fromkeys(Outcome, 0)
        with _sqlite_errors(self._path, "counting outcomes"):
            for name, n in self._conn.execute(
                    "SELECT outcome, count(*) FROM outcomes WHERE run_id = ? GROUP BY outcome",
                    (self.run_id,)):
                counts[Outcome(name)] = n
        return counts

    def error_summary(self) -> tuple[dict[str, int], int]:
        """Rows per error type, and conflicts retried, over the whole run (resumed parts included)."""
        with _sqlite_errors(self._path, "summarising outcomes"):
            types = dict(self._conn.execute(
                "SELECT error_type, count(*) FROM outcomes WHERE run_id = ? AND error_type IS NOT NULL"
                " GROUP BY error_type ORDER BY error_type", (self.run_id,)).fetchall())
            (conflicts,) = self._conn.execute(
                "SELECT coalesce(sum(conflicts), 0) FROM outcomes WHERE run_id = ?",
                (self.run_id,)).fetchone()
        return types, int(conflicts)

    def reopen_failed(self, error_type: str) -> int:
        """Turn this run's rows that failed with `error_type` into `skipped`, so a resume retries them."""
        with _sqlite_errors(self._path, "reopening rows"):
            cur = self._conn.execute(
                "UPDATE outcomes SET outcome = ? WHERE run_id = ? AND outcome = ? AND error_type = ?",
                (Outcome.SKIPPED.value, self.run_id, Outcome.FAILED.value, error_type))
        return cur.rowcount

    def end(self, status: str) -> None:
        """Write the run's end record; only ``completed`` makes the next invocation a new run."""
        if status not in END_STATUSES:
            raise ValueError(f"unknown end status {status!r}; expected one of {END_STATUSES}")
        with _sqlite_errors(self._path, "ending the run"):
            self._conn.execute("UPDATE runs SET ended_at = ?, end_status = ? WHERE run_id = ?",
                               (_utc_now(), status, self.run_id))
        if status == "completed":
            self._intents.clear()  # a completed run has nothing in flight


def _iso(stamp: datetime | None) -> str | None:
    return None if stamp is None else stamp.astimezone(UTC).isoformat()


def _json(value: object) -> str:
    return orjson.dumps(value).decode("utf-8")


def _outcome_to_db(run_id: int, o: RowOutcome) -> tuple[Any, ...]:
    return (run_id, o.row, o.action, o.ticket_id, o.outcome.value, o.attempts, o.conflicts,
            o.error_type, o.error_message, o.error_detail, o.request_id,
            _json(list(o.changed_fields)), _json(o.before), _json(o.after),
            _iso(o.started_at), _iso(o.finished_at))


def _outcome_from_db(r: tuple[Any, ...]) -> RowOutcome:
    return RowOutcome(
        row=r[0], action=r[1], ticket_id=r[2], outcome=Outcome(r[3]), attempts=r[4],
        conflicts=r[5], error_type=r[6], error_message=r[7], error_detail=r[8],
        request_id=r[9], changed_fields=tuple(json.loads(r[10])), before=json.loads(r[11]),
        after=json.loads(r[12]), started_at=_stamp(r[13]), finished_at=_stamp(r[14]))


def _stamp(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
