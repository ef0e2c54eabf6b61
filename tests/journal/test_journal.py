"""The SQLite journal: runs and resume, outcomes, intents, and survival of kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from batch.journal.journal_file import Journal, JournalError, RunState, journal_path_for
from batch.outcome import Outcome, RowOutcome

REPO = Path(__file__).resolve().parents[2]
SHA = "a" * 64
KIND = "update-ticket"


def outcome(row: int, result: Outcome = Outcome.UPDATED, **kw: object) -> RowOutcome:
    """A plausible outcome for `row`."""
    return RowOutcome(row=row, action=KIND, ticket_id=f"T{row:06d}", outcome=result, **kw)  # type: ignore[arg-type]


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    """A fresh journal in a temporary directory."""
    with Journal.open(tmp_path / "job.csv.journal.sqlite") as j:
        yield j


def begin(j: Journal, sha: str = SHA, kind: str = KIND, **kw: bool) -> RunState:
    """Begin (or resume) a run of the standard test job."""
    return j.begin(sha, kind, "job.csv", {"rate": 10, "secret_key": "<redacted>"}, "0.1.0", **kw)


def test_new_file_gets_schema_in_wal_mode(tmp_path: Path) -> None:
    """Opening a new path creates the schema, versioned, in WAL mode."""
    path = tmp_path / "j.sqlite"
    Journal.open(path).close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 4
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == {"runs", "outcomes", "history"}
    finally:
        conn.close()


V1_SCHEMA = """
CREATE TABLE runs (
    run_id INTEGER PRIMARY KEY, job_sha256 TEXT NOT NULL, kind TEXT NOT NULL,
    job_path TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT, end_status TEXT,
    settings_json TEXT NOT NULL, tool_version TEXT NOT NULL);
CREATE TABLE outcomes (
    run_id INTEGER NOT NULL REFERENCES runs(run_id), row, action, ticket_id, outcome, attempts,
    conflicts, error_type, error_message, error_detail, request_id, changed_fields, before_json,
    after_json, started_at, finished_at, PRIMARY KEY (run_id, row));
CREATE TABLE intents (
    run_id INTEGER NOT NULL REFERENCES runs(run_id), row INTEGER NOT NULL,
    ticket_id TEXT NOT NULL, attempt INTEGER NOT NULL, intent_json TEXT NOT NULL,
    noted_at TEXT NOT NULL, PRIMARY KEY (run_id, row));
PRAGMA application_id = 1431260482;
PRAGMA user_version = 1;
"""


def test_v1_journal_is_migrated_and_its_run_resumes(tmp_path: Path) -> None:
    """A v1 journal (its unused intents table, no memos column) opens as v4; its interrupted run resumes."""
    path = tmp_path / "j.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.execute(
        "INSERT INTO runs VALUES (1, ?, ?, 'job.csv', '2026-01-01T00:00:00+00:00', NULL, NULL, '{}',"
        " '0.1.0')",
        (SHA, KIND),
    )
    conn.execute(
        "INSERT INTO outcomes VALUES (1, 2, ?, 'UTM1', 'updated', 1, 0, NULL, NULL, NULL, 'r', '[]', '{}',"
        " '{}', NULL, NULL)",
        (KIND,),
    )
    conn.commit()
    conn.close()
    with Journal.open(path) as journal:
        again = begin(journal)
        assert (again.resumed, again.final_rows()) == (True, {2})
        assert [o.memos for o in again.outcomes()] == [None]
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 4
        assert "intents" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()


def test_a_text_file_is_not_a_journal(tmp_path: Path) -> None:
    """A file that is not SQLite is refused with an error naming it."""
    path = tmp_path / "notes.txt"
    path.write_text("row,ticket\n" * 200, encoding="utf-8")
    with pytest.raises(JournalError, match=r"notes\.txt.*not a uom-batch journal"):
        Journal.open(path)


def test_another_sqlite_file_is_not_a_journal(tmp_path: Path) -> None:
    """An SQLite database that we did not create is refused."""
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(JournalError, match=r"other\.db.*not a uom-batch journal"):
        Journal.open(path)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    """A journal written by a newer schema version is refused, asking for an upgrade."""
    path = tmp_path / "j.sqlite"
    Journal.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(JournalError, match=r"j\.sqlite.*newer.*upgrade"):
        Journal.open(path)


def test_second_opener_is_refused(journal: Journal) -> None:
    """While one process holds the journal, another open fails clearly instead of interleaving."""
    with pytest.raises(JournalError, match="in use"):
        Journal.open(journal.path)


def test_completed_run_is_followed_by_a_new_run(journal: Journal) -> None:
    """After a run ends `completed`, the same job starts a fresh run with nothing done."""
    first = begin(journal)
    first.record([outcome(2)])
    first.end("completed")
    second = begin(journal)
    assert (second.resumed, second.run_id != first.run_id) == (False, True)
    assert second.final_rows() == set()


@pytest.mark.parametrize("status", [None, "interrupted", "auth_stopped"])
def test_unfinished_run_of_same_job_resumes(journal: Journal, status: str | None) -> None:
    """A run with no end record, or one that stopped early, resumes with its final rows."""
    first = begin(journal)
    first.record([outcome(2), outcome(3, Outcome.FAILED), outcome(4, Outcome.SKIPPED)])
    if status:
        first.end(status)
    again = begin(journal)
    assert (again.resumed, again.run_id) == (True, first.run_id)
    assert again.final_rows() == {2, 3}


def test_changed_job_refuses_to_resume(journal: Journal) -> None:
    """An unfinished run of a different job file is not resumed: JournalError naming the remedy."""
    begin(journal)
    with pytest.raises(JournalError, match=r"job file changed.*--new-run"):
        begin(journal, sha="b" * 64)
    with pytest.raises(JournalError, match="job file changed"):
        begin(journal, kind="release-relation")


def test_force_new_starts_over(journal: Journal) -> None:
    """force_new starts a new run even when an unfinished one exists."""
    first = begin(journal)
    first.record([outcome(2)])
    fresh = begin(journal, sha="b" * 64, force_new=True)
    assert (fresh.resumed, fresh.run_id != first.run_id, fresh.final_rows()) == (False, True, set())


def test_outcomes_round_trip_in_row_order(journal: Journal) -> None:
    """Outcomes come back exactly as recorded, ordered by row, as a stream."""
    jst = timezone(timedelta(hours=9))
    full = outcome(
        5, attempts=3, conflicts=1, error_type="EXCLUSION_FAILURE", error_message="conflict",
        error_detail='{"Field": "Subject"}', request_id="req-5", changed_fields=("Subject",),
        before={"Subject": "old"}, after={"Subject": "新しい"},
        started_at=datetime(2026, 1, 2, 9, 0, 0, 123456, tzinfo=jst),
        finished_at=datetime(2026, 1, 2, 0, 0, 1, tzinfo=UTC))
    run = begin(journal)
    run.record([full, outcome(3, Outcome.UNCHANGED)])
    run.record([outcome(2, Outcome.INVALID, error_message="bad StateCode")])
    stream = run.outcomes()
    assert iter(stream) is stream
    got = list(stream)
    assert [o.row for o in got] == [2, 3, 5]
    assert got[2] == full


def test_record_upserts_the_row(journal: Journal) -> None:
    """Recording a row again replaces its outcome; counts cover every outcome."""
    run = begin(journal)
    run.record([outcome(2, Outcome.SKIPPED), outcome(3)])
    run.record([outcome(2, Outcome.RELEASED)])
    counts = run.counts()
    assert counts[Outcome.RELEASED] == 1 and counts[Outcome.UPDATED] == 1
    assert counts[Outcome.SKIPPED] == 0 and set(counts) == set(Outcome)


def test_intents_mark_rows_in_flight_until_final(journal: Journal) -> None:
    """A noted intent stays in flight through a skip and is cleared by a final outcome."""
    run = begin(journal)
    run.note_intent(2, "T2", 1, {"memo": "landed?", "seq": 7})
    run.note_intent(3, "T3", 2, {"fields": {"Subject": "x"}})
    run.record([outcome(2, Outcome.SKIPPED), outcome(3)])
    flight = begin(journal).in_flight()
    assert list(flight) == [2]
    assert flight[2]["intent"] == {"memo": "landed?", "seq": 7}
    assert (flight[2]["ticket_id"], flight[2]["attempt"]) == ("T2", 1)


def test_bad_end_status_is_refused(journal: Journal) -> None:
    """end() accepts only the known statuses."""
    with pytest.raises(ValueError, match="end status"):
        begin(journal).end("done")


@pytest.mark.parametrize(
    "settings", [{"secret_key": "abc123"}, {"uom": {"password": "hunter2"}}, {"x": [{"SECRET": 1}]}]
)
def test_secrets_never_enter_the_journal(journal: Journal, settings: dict[str, object]) -> None:
    """Settings with a secret-looking key holding a real value are refused."""
    with pytest.raises(ValueError, match="secret"):
        journal.begin(SHA, KIND, "job.csv", settings, "0.1.0")


def test_journal_lives_beside_the_job() -> None:
    """The journal of a job file is <job file name>.journal.sqlite in the same folder."""
    assert journal_path_for(Path("/data/jobs.csv")) == Path("/data/jobs.csv.journal.sqlite")


WRITER = """
import sys
from pathlib import Path
from batch.journal.journal_file import Journal
from batch.outcome import Outcome, RowOutcome

journal = Journal.open(Path(sys.argv[1]))
run = journal.begin("a" * 64, "update-ticket", "job.csv", {}, "0.1.0")
batch = 0
while True:
    rows = range(2 + 10 * batch, 12 + 10 * batch)
    run.note_intent(rows[0], f"T{rows[0]}", 1, {"memo": f"batch {batch}"})
    run.record([RowOutcome(row=r, action="update-ticket", ticket_id=f"T{r}",
                           outcome=Outcome.UPDATED, changed_fields=("Subject",),
                           before={"Subject": "old"}, after={"Subject": f"new {r}"})
                for r in rows])
    run.note_intent(rows[-1] + 1, f"T{rows[-1] + 1}", 1, {"memo": f"batch {batch + 1}"})
    print(batch, flush=True)
    batch += 1
"""


def test_committed_rows_survive_kill_9(tmp_path: Path) -> None:
    """After kill -9 of a writer, every batch it reported committed is there and the run resumes."""
    path = tmp_path / "job.csv.journal.sqlite"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE,
                            text=True, env=env, cwd=tmp_path)
    assert proc.stdout is not None
    reported = [int(proc.stdout.readline()) for _ in range(50)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert path.with_name(path.name + "-wal").exists()  # recovery from the WAL is exercised
    with Journal.open(path) as journal:
        run = begin(journal)
        assert run.resumed
        done = run.final_rows()
        assert set(range(2, 12 + 10 * reported[-1])) <= done
        assert max(done) - 1 == len(done)  # whole batches only, no gaps
        # The next batch's intent, unless the kill fell between a commit and that intent's write.
        assert set(run.in_flight()) in ({max(done) + 1}, set())
        assert all(o.after == {"Subject": f"new {o.row}"} for o in run.outcomes())
