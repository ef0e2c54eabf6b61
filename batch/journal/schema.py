"""The journal's tables and columns, its schema version and migrations, and outcome rows.

Version 2 dropped v1's `intents` table (intents went to the intent log beside the journal, and
the table was no longer written); version 3 keeps each update's memo operations (`memos_json`)
for a revert; version 4 adds the run history (batch.journal.history). An older journal is
migrated when it is opened, so an interrupted run of an older
uom-batch still resumes.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import orjson

from batch.errors import BatchError
from batch.outcome import LEDGER_FIELDS, LedgerRow, Outcome, RowOutcome, utc_iso

SCHEMA_VERSION: Final = 4
APPLICATION_ID: Final = 0x554F4D42  # "UOMB"
END_STATUSES: Final = frozenset({"completed", "interrupted", "auth_stopped"})
LEDGER_COLUMNS: Final = ", ".join(LEDGER_FIELDS)  # batch.outcome.LedgerRow's, in its order
OUTCOME_COLUMNS: Final = (
    "row, action, ticket_id, outcome, attempts, conflicts, error_type, error_message,"
    " error_detail, request_id, changed_fields, before_json, after_json, started_at, finished_at,"
    " memos_json"
)
_HISTORY: Final = """
CREATE TABLE history (
    history_id INTEGER PRIMARY KEY, mode TEXT NOT NULL, job_sha256 TEXT NOT NULL,
    started_at TEXT NOT NULL, ended_at TEXT NOT NULL, end_status TEXT NOT NULL,
    counts_json TEXT NOT NULL, drift INTEGER, requests INTEGER NOT NULL, rate_per_s REAL NOT NULL,
    output_path TEXT NOT NULL);
"""
_TABLES: Final = f"""
CREATE TABLE runs (
    run_id INTEGER PRIMARY KEY, job_sha256 TEXT NOT NULL, kind TEXT NOT NULL,
    job_path TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT, end_status TEXT,
    settings_json TEXT NOT NULL, tool_version TEXT NOT NULL);
CREATE TABLE outcomes (
    run_id INTEGER NOT NULL REFERENCES runs(run_id), {OUTCOME_COLUMNS},
    PRIMARY KEY (run_id, row));
{_HISTORY}
PRAGMA application_id = {APPLICATION_ID};
PRAGMA user_version = {SCHEMA_VERSION};
"""
# From version N to N + 1.
_MIGRATIONS: Final = {
    1: "DROP TABLE IF EXISTS intents;",
    2: "ALTER TABLE outcomes ADD COLUMN memos_json TEXT;",
    3: _HISTORY,
}


class JournalError(BatchError):
    """The journal cannot be used: not a journal, newer, locked, broken, or a changed job."""


def ensure_schema(conn: sqlite3.Connection, path: Path) -> None:
    """Create the tables in a new file, migrate an older journal, refuse anything else."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if tables == 0:
        conn.executescript(f"BEGIN; {_TABLES} COMMIT;")
        return
    if app_id != APPLICATION_ID or version == 0:
        raise JournalError(f"{path}: an SQLite file, but not a uom-batch journal")
    elif version > SCHEMA_VERSION:
        raise JournalError(
            f"{path}: journal schema v{version} is newer than this uom-batch"
            f" understands (v{SCHEMA_VERSION}); upgrade uom-batch"
        )
    for old in range(version, SCHEMA_VERSION):
        conn.executescript(f"BEGIN; {_MIGRATIONS[old]} PRAGMA user_version = {old + 1}; COMMIT;")


def _json(value: object) -> str:
    return orjson.dumps(value).decode("utf-8")


def outcome_to_db(run_id: int, o: RowOutcome) -> tuple[Any, ...]:
    """One outcome as the values of an `outcomes` row (run_id first, then OUTCOME_COLUMNS)."""
    return (
        run_id,
        o.row,
        o.action,
        o.ticket_id,
        o.outcome.value,
        o.attempts,
        o.conflicts,
        o.error_type,
        o.error_message,
        o.error_detail,
        o.request_id,
        _json(o.changed_fields),  # a tuple: orjson writes it as a JSON list
        _json(o.before),
        _json(o.after),
        utc_iso(o.started_at),
        utc_iso(o.finished_at),
        None if o.memos is None else _json(o.memos),
    )


def outcome_from_db(r: tuple[Any, ...]) -> RowOutcome:
    """An outcome from the values of OUTCOME_COLUMNS."""
    return RowOutcome(
        row=r[0],
        action=r[1],
        ticket_id=r[2],
        outcome=Outcome(r[3]),
        attempts=r[4],
        conflicts=r[5],
        error_type=r[6],
        error_message=r[7],
        error_detail=r[8],
        request_id=r[9],
        changed_fields=tuple(orjson.loads(r[10])),
        before=orjson.loads(r[11]),
        after=orjson.loads(r[12]),
        started_at=_stamp(r[13]),
        finished_at=_stamp(r[14]),
        memos=None if r[15] is None else orjson.loads(r[15]),
    )


def ledger_row_from_db(r: tuple[Any, ...]) -> LedgerRow:
    """A ledger row from the values of LEDGER_COLUMNS (stamps stay text: the journal's is UTC ISO)."""
    return LedgerRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
                     tuple(orjson.loads(r[10])), r[11], r[12])


def _stamp(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
