"""The durable journal: one SQLite file recording runs, row outcomes and pre-send intents.

SQLite in WAL mode with ``synchronous=NORMAL``: a committed transaction survives ``kill -9`` of
the process (not necessarily a power cut), without an fsync per row. The connection holds the
file in ``locking_mode=EXCLUSIVE``, so a second process opening the same journal gets a clear
`JournalError` instead of two runs interleaving; use it from one thread at a time. Schema
version: ``PRAGMA user_version``; the file is recognised by ``PRAGMA application_id``.

Runs and resume: `Journal.begin` resumes the latest run when it did not complete (no end
record, or ended ``interrupted``/``auth_stopped``) and the job (SHA-256 and kind) is
the same; refuses when that job changed (unless ``force_new``); and starts a new run after a
``completed`` one, so a nightly job does its work every night.

Intents: before a send whose result may be unknown, the engine notes what it is about to do
(`RunState.note_intent`) in the intent log beside the journal (batch.intent_log: one append per
send, far cheaper than a commit). A row with a final outcome in the journal is settled; an intent
of a row without one marks a row that was in flight: refetch, don't resend. Tables, columns
and the schema version: batch.journal.schema.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any, Self

from batch.journal.intent_log import IntentLog
from batch.journal.run_state import RunState, sqlite_errors, utc_now
from batch.journal.schema import JournalError, ensure_schema

__all__ = ["Journal", "JournalError", "RunState", "journal_path_for"]

_SECRET_KEY = re.compile(r"secret|passw", re.IGNORECASE)
_REDACTED = frozenset({"", "*", "***", "redacted", "<redacted>", "[redacted]"})


def intent_log_path(journal_path: Path) -> Path:
    """The intent log beside a journal (`<journal>-intents`, like SQLite's own `-wal`)."""
    return journal_path.with_name(journal_path.name + "-intents")


def journal_path_for(job_path: Path) -> Path:
    """The journal's conventional place: ``<job file name>.journal.sqlite`` beside the job."""
    return job_path.with_name(job_path.name + ".journal.sqlite")


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
        with sqlite_errors(path, "opening"):
            conn = sqlite3.connect(
                path, timeout=0.5, isolation_level=None, check_same_thread=False
            )  # allow anyio.to_thread
            try:
                _configure(conn)
                ensure_schema(conn, path)
            except BaseException:
                conn.close()
                raise
        return cls(path, conn)

    @property
    def connection(self) -> sqlite3.Connection:
        """The open SQLite connection (for the journal's own modules: history)."""
        return self._conn

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (committed data is already durable)."""
        self._intents.close()
        self._conn.close()

    def begin(
        self,
        job_sha256: str,
        kind: str,
        job_path: Path | str,
        settings: dict[str, Any],
        tool_version: str,
        *,
        force_new: bool = False,
        resume_only: bool = False,
        once: bool = False,
    ) -> RunState:
        """Resume the latest run of this job if it did not complete, else start a new run.

        `resume_only` (the CLI's --resume) refuses to start a new run: there must be one to resume.
        `once` (applying a plan) refuses a new run after one of this job completed: a plan applies once.
        """
        _refuse_secrets(settings)
        with sqlite_errors(self.path, "starting a run"):
            latest = self._conn.execute(
                "SELECT run_id, job_sha256, kind, job_path, end_status FROM runs ORDER BY run_id DESC LIMIT 1"
            ).fetchone()
            if latest is not None and latest[4] != "completed" and not force_new:
                self._check_same_job(latest, job_sha256, kind)
                return self._resume(latest[0])
            if once and latest is not None and latest[1] == job_sha256:
                raise JournalError(
                    f"{self.path}: run {latest[0]} already applied this plan; a plan applies once."
                    " Make a new plan (uom-batch plan) to change the tickets again"
                )
            if resume_only:
                raise JournalError(
                    f"{self.path}: nothing to resume (no interrupted run of this job);"
                    " run without --resume to start a new run"
                )
            return self._new_run(job_sha256, kind, str(job_path), settings, tool_version)

    def run(self, run_id: int) -> RunState:
        """A view of an earlier run (to read its outcomes and intents); JournalError if there is none."""
        with sqlite_errors(self.path, "reading a run"):
            found = self._conn.execute("SELECT run_id FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if found is None:
            raise JournalError(f"{self.path}: has no run {run_id}")
        return RunState(self._conn, self.path, run_id, self._intents, resumed=False)

    def _check_same_job(self, latest: tuple[Any, ...], job_sha256: str, kind: str) -> None:
        run_id, old_sha, old_kind, old_path, _ = latest
        if (old_sha, old_kind) != (job_sha256, kind):
            raise JournalError(
                f"{self.path}: job file changed since the interrupted run {run_id} of {old_path}"
                f" ({old_kind}, sha256 {old_sha[:12]}; now {kind}, sha256 {job_sha256[:12]});"
                " refusing to resume: start a new run with --new-run or delete the journal"
            )

    def _resume(self, run_id: int) -> RunState:
        self._conn.execute("UPDATE runs SET ended_at = NULL, end_status = NULL WHERE run_id = ?", (run_id,))
        return RunState(self._conn, self.path, run_id, self._intents, resumed=True)

    def _new_run(
        self, job_sha256: str, kind: str, job_path: str, settings: dict[str, Any], tool_version: str
    ) -> RunState:
        blob = json.dumps(settings, sort_keys=True, ensure_ascii=False, default=str)
        cur = self._conn.execute(
            "INSERT INTO runs (job_sha256, kind, job_path, started_at, settings_json,"
            " tool_version) VALUES (?, ?, ?, ?, ?, ?)",
            (job_sha256, kind, job_path, utc_now(), blob, tool_version),
        )
        assert cur.lastrowid is not None
        return RunState(self._conn, self.path, cur.lastrowid, self._intents, resumed=False)


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")  # one process per journal
    if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
        raise sqlite3.OperationalError("cannot switch to WAL mode")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")


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
