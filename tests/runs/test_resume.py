"""Resume in process: after a crash mid-run, after an auth stop, and a changed job file refused."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import anyio
import orjson
import pytest

from batch.journal.journal_file import JournalError, intent_log_path, journal_path_for
from batch.uom.emulator import Emulator

from .support import MEMO, SETTINGS, Turnstile, entries, memo_texts, run_file, write_job

TICKET = "UTM1000008"
AUTH_STOP, CONCURRENCY = SETTINGS.auth_stop_after, SETTINGS.concurrency
SAME_TICKET_ROWS = [
    {"TicketId": TICKET, "Priority": "高", MEMO: "a"},
    {"TicketId": TICKET, "Priority": "低", MEMO: "b"},
    {"TicketId": TICKET, "Importance": "低", MEMO: "c"},
]


async def crash_at(job: Path, url: str, gate: Turnstile, arrival: int) -> None:
    """Run `job` and end it abruptly when request number `arrival` reaches the emulator.

    Cancelling the run is what kill -9 leaves behind in the journal: no end record, the intents
    noted before each send, and not the outcomes still waiting in the recorder's batch.
    """
    gate.hold_from(arrival)
    async with anyio.create_task_group() as tg:
        tg.start_soon(run_file, job, url)
        await gate.holding.wait()
        tg.cancel_scope.cancel()
    gate.release()


def journal_rows(job: Path) -> tuple[set[int], set[int]]:
    """(rows with an outcome, rows with an intent) in the journal left behind."""
    with closing(sqlite3.connect(f"file:{journal_path_for(job)}?mode=ro", uri=True)) as db:
        outcomes = {r for (r,) in db.execute("SELECT row FROM outcomes")}
    log = intent_log_path(journal_path_for(job))
    intents = {orjson.loads(line)["row"] for line in log.read_bytes().splitlines()}
    return outcomes, intents


async def test_resume_after_crash_finds_rows_that_landed(
    emu: Emulator, gate: Turnstile, url: str, tmp_path: Path
) -> None:
    """Two rows of one ticket landed, their outcomes lost: the resume finds both, and resends neither."""
    job = write_job(tmp_path / "job.csv", SAME_TICKET_ROWS)
    await crash_at(job, url, gate, arrival=5)  # GET, UPDATE (a), GET, UPDATE (b), GET (c) ← crash
    assert journal_rows(job) == (set(), {2, 3})
    ran = await run_file(job, url)
    assert ran.report.resumed
    assert ran.outcomes == {2: "updated", 3: "updated", 4: "updated"}
    assert memo_texts(emu, TICKET)[-3:] == ["a", "b", "c"]
    assert (emu.tickets[TICKET]["Priority"], emu.tickets[TICKET]["Importance"]) == ("低", "低")
    assert len(entries(emu, "UpdateTicket")) == 3


async def test_auth_stop_skips_the_rest_and_resume_does_them(emu: Emulator, url: str, tmp_path: Path) -> None:
    """Repeated AUTH_FAILURE stops the run: every row ends skipped (exit 1); a resume does them all."""
    rows = [{"TicketId": f"UTM10000{n:02d}", MEMO: "after auth"} for n in range(10, 40)]
    job = write_job(tmp_path / "job.csv", rows)
    stopped = await run_file(job, url, secret_key="wrong" * 8)
    assert stopped.report.stop.auth_stopped and stopped.report.exit_code == 1
    assert dict(stopped.ledger["outcome"].value_counts().iter_rows()) == {"skipped": 30}
    # the rows the API refused name why; the third refusal stopped it, in-flight ones finished
    refused = stopped.ledger.filter(error_type="AUTH_FAILURE")
    assert AUTH_STOP <= refused.height <= AUTH_STOP + CONCURRENCY - 1
    assert entries(emu, "UpdateTicket") == []
    resumed = await run_file(job, url)
    assert resumed.report.resumed and resumed.report.exit_code == 0
    assert dict(resumed.ledger["outcome"].value_counts().iter_rows()) == {"updated": 30}


async def test_changed_job_file_is_not_resumed(emu: Emulator, url: str, tmp_path: Path) -> None:
    """A job file changed since its interrupted run is refused with a JournalError naming the cause."""
    job = write_job(tmp_path / "job.csv", [{"TicketId": f"UTM10000{n}", MEMO: "x"} for n in range(10, 20)])
    await run_file(job, url, secret_key="wrong" * 8)
    write_job(job, [{"TicketId": "UTM1000010", MEMO: "y"}])
    with pytest.raises(JournalError, match="job file changed since the interrupted run 1"):
        await run_file(job, url)


async def test_completed_job_runs_again_as_a_new_run(emu: Emulator, url: str, tmp_path: Path) -> None:
    """A job whose last run completed starts a new run: its memo is added again (a nightly job)."""
    job = write_job(tmp_path / "job.csv", [{"TicketId": "UTM1000009", MEMO: "nightly"}])
    first = await run_file(job, url)
    second = await run_file(job, url)
    assert not first.report.resumed and not second.report.resumed
    assert memo_texts(emu, "UTM1000009").count("nightly") == 2
