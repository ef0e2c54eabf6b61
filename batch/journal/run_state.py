"""One run in the journal: what is done, what was in flight, and recording more.

The journal (batch.journal.journal_file) opens the file and decides which run this is; a `RunState`
is that run's view: its outcomes in SQLite, its intents in the intent log beside it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from batch.journal.intent_log import IntentLog
from batch.journal.schema import (
    END_STATUSES,
    LEDGER_COLUMNS,
    OUTCOME_COLUMNS,
    JournalError,
    ledger_row_from_db,
    outcome_from_db,
    outcome_to_db,
)
from batch.outcome import LedgerRow, Outcome, RowOutcome


def utc_now() -> str:
    return datetime.now(UTC).isoformat()


@contextmanager
def sqlite_errors(path: Path, doing: str) -> Iterator[None]:
    """Turn sqlite3 failures into a `JournalError` naming the file (a broken journal is fatal)."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            raise JournalError(f"{path}: journal in use by another uom-batch process") from exc
        raise JournalError(f"{path}: {doing} failed: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise JournalError(f"{path}: not a uom-batch journal ({exc})") from exc


class RunState:
    """One run in the journal: what is done, what was in flight, and recording more."""

    def __init__(
        self, conn: sqlite3.Connection, path: Path, run_id: int, intents: IntentLog, *, resumed: bool
    ) -> None:
        self._intents = intents
        self._conn = conn
        self._path = path
        self.run_id = run_id
        self.resumed = resumed

    @contextmanager
    def _transaction(self, doing: str) -> Iterator[None]:
        with sqlite_errors(self._path, doing):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def final_rows(self) -> set[int]:
        """Rows that already have a final outcome (anything but skipped) in this run."""
        with sqlite_errors(self._path, "reading outcomes"):
            cur = self._conn.execute(
                "SELECT row FROM outcomes WHERE run_id = ? AND outcome != ?",
                (self.run_id, Outcome.SKIPPED.value),
            )
            return {r for (r,) in cur}

    def in_flight(self) -> dict[int, dict[str, Any]]:
        """Rows noted before a send, no final outcome: {row: {ticket_id, attempt, noted_at, intent}}."""
        with sqlite_errors(self._path, "reading intents"):
            noted = self._intents.entries(self.run_id)
            done = self._final_among(list(noted))
        return {row: entry for row, entry in noted.items() if row not in done}

    def _final_among(self, rows: list[int]) -> set[int]:
        done: set[int] = set()
        for start in range(0, len(rows), 900):  # SQLite's bound-parameter limit
            chunk = rows[start : start + 900]
            done.update(
                r
                for (r,) in self._conn.execute(
                    f"SELECT row FROM outcomes WHERE run_id = ? AND outcome != ? AND row IN"
                    f" ({', '.join('?' * len(chunk))})",
                    (self.run_id, Outcome.SKIPPED.value, *chunk),
                )
            )
        return done

    def note_intent(self, row: int, ticket_id: str, attempt: int, intent: Mapping[str, Any]) -> None:
        """Durably note what is about to be sent for `row` (written before returning)."""
        self.note_intents([(row, ticket_id, attempt, intent)])

    def note_intents(self, entries: Sequence[tuple[int, str, int, Mapping[str, Any]]]) -> None:
        """Intents (row, ticket_id, attempt, intent), in the intent log with one system call."""
        try:
            self._intents.append(self.run_id, entries, utc_now())
        except OSError as exc:
            raise JournalError(f"{self._intents.path}: cannot note intents: {exc.strerror}") from None

    def record(self, outcomes: Sequence[RowOutcome]) -> None:
        """Upsert outcomes in one transaction (a final outcome settles the row's intent)."""
        with self._transaction("recording outcomes"):
            self._conn.executemany(
                f"INSERT OR REPLACE INTO outcomes (run_id, {OUTCOME_COLUMNS}) VALUES ({', '.join('?' * 17)})",
                [outcome_to_db(self.run_id, o) for o in outcomes],
            )
        if self._intents.too_large():
            self._intents.rewrite(self.run_id, self.in_flight().items())

    def outcomes(self, batch_size: int = 1000) -> Iterator[RowOutcome]:
        """All outcomes of this run ordered by row, streamed from the file."""
        with sqlite_errors(self._path, "reading outcomes"):
            cur = self._conn.execute(
                f"SELECT {OUTCOME_COLUMNS} FROM outcomes WHERE run_id = ? ORDER BY row", (self.run_id,)
            )
            while batch := cur.fetchmany(batch_size):
                yield from (outcome_from_db(r) for r in batch)

    def ledger_rows(self, batch_size: int = 1000) -> Iterator[LedgerRow]:
        """The ledger's columns of every outcome of this run, by row: cheaper than `outcomes`."""
        with sqlite_errors(self._path, "reading outcomes"):
            cur = self._conn.execute(
                f"SELECT {LEDGER_COLUMNS} FROM outcomes WHERE run_id = ? ORDER BY row", (self.run_id,)
            )
            while batch := cur.fetchmany(batch_size):
                yield from map(ledger_row_from_db, batch)

    def counts(self) -> dict[Outcome, int]:
        """Number of rows per outcome in this run (every outcome present, zero if none)."""
        counts = dict.fromkeys(Outcome, 0)
        with sqlite_errors(self._path, "counting outcomes"):
            for name, n in self._conn.execute(
                "SELECT outcome, count(*) FROM outcomes WHERE run_id = ? GROUP BY outcome", (self.run_id,)
            ):
                counts[Outcome(name)] = n
        return counts

    def error_summary(self) -> tuple[dict[str, int], int]:
        """Rows per error type, and conflicts retried, over the whole run (resumed parts included)."""
        with sqlite_errors(self._path, "summarising outcomes"):
            types = dict(
                self._conn.execute(
                    "SELECT error_type, count(*) FROM outcomes WHERE run_id = ? AND error_type IS NOT NULL"
                    " GROUP BY error_type ORDER BY error_type",
                    (self.run_id,),
                ).fetchall()
            )
            (conflicts,) = self._conn.execute(
                "SELECT coalesce(sum(conflicts), 0) FROM outcomes WHERE run_id = ?", (self.run_id,)
            ).fetchone()
        return types, int(conflicts)

    def transient_retries(self) -> int:
        """Attempts after the first that were not for a conflict (timeouts, 5xx, lost replies)."""
        with sqlite_errors(self._path, "summarising outcomes"):
            (retries,) = self._conn.execute(
                "SELECT coalesce(sum(max(attempts - 1 - conflicts, 0)), 0) FROM outcomes WHERE run_id = ?",
                (self.run_id,),
            ).fetchone()
        return int(retries)

    def reopen_failed(self, error_type: str) -> int:
        """Turn this run's rows that failed with `error_type` into `skipped`, so a resume retries them."""
        with sqlite_errors(self._path, "reopening rows"):
            cur = self._conn.execute(
                "UPDATE outcomes SET outcome = ? WHERE run_id = ? AND outcome = ? AND error_type = ?",
                (Outcome.SKIPPED.value, self.run_id, Outcome.FAILED.value, error_type),
            )
        return cur.rowcount

    def end(self, status: str) -> None:
        """Write the run's end record; only ``completed`` makes the next invocation a new run."""
        if status not in END_STATUSES:
            raise ValueError(f"unknown end status {status!r}; expected one of {END_STATUSES}")
        with sqlite_errors(self._path, "ending the run"):
            self._conn.execute(
                "UPDATE runs SET ended_at = ?, end_status = ? WHERE run_id = ?",
                (utc_now(), status, self.run_id),
            )
        if status == "completed":
            self._intents.clear()  # a completed run has nothing in flight
