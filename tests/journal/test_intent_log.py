"""The intent log: appends survive as written, a torn tail is ignored, compaction keeps open rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch.journal.intent_log import IntentLog
from batch.journal.journal_file import Journal, JournalError, intent_log_path
from batch.outcome import Outcome, RowOutcome


def test_last_intent_per_row_wins(tmp_path: Path) -> None:
    """Reading gives each row's latest intent, for the asked run only."""
    log = IntentLog(tmp_path / "j-intents")
    log.append(1, [(2, "T2", 1, {"a": 1}), (3, "T3", 1, {"b": 1})], "t0")
    log.append(1, [(2, "T2", 2, {"a": 2})], "t1")
    log.append(2, [(2, "T2", 1, {"other": "run"})], "t2")
    entries = log.entries(1)
    log.close()
    assert entries[2] == {"ticket_id": "T2", "attempt": 2, "noted_at": "t1", "intent": {"a": 2}}
    assert set(entries) == {2, 3}


def test_torn_last_line_is_ignored(tmp_path: Path) -> None:
    """A line cut short by a crash mid-write is skipped; the complete ones are read."""
    path = tmp_path / "j-intents"
    log = IntentLog(path)
    log.append(1, [(2, "T2", 1, {"a": 1})], "t0")
    with path.open("ab") as fh:
        fh.write(b'{"run": 1, "row": 3, "ticket_id": "T3", "att')
    assert set(log.entries(1)) == {2}
    log.close()


def test_journal_settles_rows_and_compacts(tmp_path: Path) -> None:
    """Rows with a final outcome drop out of in_flight and out of a compacted log."""
    with Journal.open(tmp_path / "job.journal.sqlite") as journal:
        run = journal.begin("sha", "update-ticket", "job.csv", {}, "0")
        run.note_intents([(2, "T2", 1, {"x": 1}), (3, "T3", 1, {"x": 2})])
        run.record([RowOutcome(row=2, action="update-ticket", ticket_id="T2", outcome=Outcome.UPDATED)])
        assert set(run.in_flight()) == {3}
        journal._intents.rewrite(run.run_id, run.in_flight().items())  # what record() does when large
        assert set(journal._intents.entries(run.run_id)) == {3}
        run.end("completed")
    assert intent_log_path(tmp_path / "job.journal.sqlite").read_bytes() == b""


def test_resume_only_refuses_when_nothing_to_resume(tmp_path: Path) -> None:
    """--resume with no interrupted run is refused instead of silently starting over."""
    with Journal.open(tmp_path / "job.journal.sqlite") as journal:
        with pytest.raises(JournalError, match="nothing to resume"):
            journal.begin("sha", "update-ticket", "job.csv", {}, "0", resume_only=True)
        journal.begin("sha", "update-ticket", "job.csv", {}, "0").end("interrupted")
        assert journal.begin("sha", "update-ticket", "job.csv", {}, "0", resume_only=True).resumed
