"""update-ticket end to end against the emulator: every outcome, its evidence, and exit codes."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

from batch.journal.journal_file import journal_path_for
from batch.uom.emulator import Emulator
from batch.uom.spec import Msg

from .support import MEMO, entries, memo_texts, run_file, write_job

CLOSE = {"StateCode": "クローズ", "FinishApprovalUserId": "SA1234567", "expect.StateCode": "復旧済み"}


async def test_update_lands_with_its_request_id(emu: Emulator, url: str, tmp_path: Path) -> None:
    """A row is fetched, merged and sent; the ledger keeps UpdateTicket's RequestId and the fields."""
    job = write_job(tmp_path / "job.csv", [{"TicketId": "UTM1000001", **CLOSE, MEMO: "一括クローズ"}])
    ran = await run_file(job, url)
    (update,) = entries(emu, "UpdateTicket")
    row = ran.row(2)
    assert (row["outcome"], row["request_id"], row["attempts"]) == ("updated", update.request_id, 1)
    assert row["changed_fields"] == ["StateCode", "FinishApprovalUserId", "CorrespondProcessList"]
    assert emu.tickets["UTM1000001"]["StateCode"] == "クローズ"
    assert memo_texts(emu, "UTM1000001")[-1] == "一括クローズ"
    assert ran.report.exit_code == 0


async def test_unchanged_row_sends_no_update(emu: Emulator, url: str, tmp_path: Path) -> None:
    """A row whose fields already hold is `unchanged`, with the fetch's RequestId, and costs no update."""
    live = emu.tickets["UTM1000002"]["Priority"]
    job = write_job(tmp_path / "job.csv", [{"TicketId": "UTM1000002", "Priority": live}])
    ran = await run_file(job, url)
    (fetch,) = entries(emu, "GetTicketDetail")
    assert (ran.row(2)["outcome"], ran.row(2)["request_id"]) == ("unchanged", fetch.request_id)
    assert entries(emu, "UpdateTicket") == []


async def test_precondition_failed_names_the_live_value(emu: Emulator, url: str, tmp_path: Path) -> None:
    """An unmet `expect.<Field>` is `precondition_failed` with the live value, and nothing is sent."""
    job = write_job(tmp_path / "job.csv", [{"TicketId": "UTM1000061", **CLOSE}])
    ran = await run_file(job, url)
    row = ran.row(2)
    assert row["outcome"] == "precondition_failed"
    assert "expected StateCode='復旧済み'" in row["error_message"]
    assert "live StateCode='対応中'" in row["error_message"]
    assert entries(emu, "UpdateTicket") == []
    assert emu.tickets["UTM1000061"]["StateCode"] == "対応中"
    assert ran.report.exit_code == 0


async def test_missing_ticket_fails_with_the_api_error(emu: Emulator, url: str, tmp_path: Path) -> None:
    """NO_TICKET_ID is final: `failed` with ErrorType, ErrorMessage, ErrorDetail and the reply's RequestId."""
    job = write_job(tmp_path / "job.csv", [{"TicketId": "UTM1999999", "Priority": "高"}])
    ran = await run_file(job, url)
    (fetch,) = entries(emu, "GetTicketDetail")
    row = ran.row(2)
    assert (row["outcome"], row["error_type"], row["attempts"]) == ("failed", "NO_TICKET_ID", 1)
    assert row["error_message"] == Msg.NO_TICKET
    assert json.loads(row["error_detail"]) == {"TicketId": "NO_TICKET_ID"}
    assert row["request_id"] == fetch.request_id
    assert ran.report.exit_code == 1


async def test_refused_update_fails_with_its_detail(emu: Emulator, url: str, tmp_path: Path) -> None:
    """A close by a master without close authority fails with NO_ROLES_TO_CLOSE and is not retried."""
    rows = [{"TicketId": "UTM1000003", **CLOSE, "MasterID": "SA7654321"}]
    ran = await run_file(write_job(tmp_path / "job.csv", rows), url)
    (update,) = entries(emu, "UpdateTicket")
    row = ran.row(2)
    assert (row["outcome"], row["error_type"]) == ("failed", "NO_ROLES_TO_CLOSE")
    assert (row["error_message"], row["request_id"]) == (Msg.NO_ROLES, update.request_id)
    assert json.loads(row["error_detail"]) == {"StateCode": "NO_ROLES_TO_CLOSE"}
    assert emu.tickets["UTM1000003"]["StateCode"] == "復旧済み"


async def test_invalid_rows_are_never_sent(emu: Emulator, url: str, tmp_path: Path) -> None:
    """Rows that fail validation are `invalid` in the ledger and cost no request; the run exits 1."""
    rows = [{"TicketId": "TKT-1", "Priority": "高"}, {"TicketId": "UTM1000004", MEMO: "note"}]
    ran = await run_file(write_job(tmp_path / "job.csv", rows), url)
    assert ran.outcomes == {2: "invalid", 3: "updated"}
    assert ran.row(2)["error_message"]
    assert all("TKT-1" not in e.ticket_ids for e in emu.log)
    assert ran.report.exit_code == 1


async def test_rows_of_one_ticket_apply_in_file_order(emu: Emulator, url: str, tmp_path: Path) -> None:
    """Duplicate rows for one ticket run one at a time in file order; a repeat that holds is unchanged."""
    tid = "UTM1000005"
    rows = [
        {"TicketId": tid, "Priority": "高", MEMO: "first"},
        {"TicketId": "UTM1000006", "Priority": "高"},
        {"TicketId": tid, "Priority": "低", MEMO: "second"},
        {"TicketId": tid, "Priority": "低"},
        {"TicketId": "UTM1000007", "Priority": "高"},
        {"TicketId": tid, MEMO: "third"},
    ]
    ran = await run_file(write_job(tmp_path / "job.csv", rows), url)
    assert list(ran.outcomes.values()) == ["updated", "updated", "updated", "unchanged", "updated", "updated"]
    assert memo_texts(emu, tid)[-3:] == ["first", "second", "third"]
    assert emu.tickets[tid]["Priority"] == "低"
    assert len(entries(emu, "UpdateTicket", tid)) == 3


async def test_journal_keeps_before_and_after(emu: Emulator, url: str, tmp_path: Path) -> None:
    """For every field an update changes the journal keeps the value before and after (to put it back)."""
    job = write_job(tmp_path / "job.csv", [{"TicketId": "UTM1000001", **CLOSE}])
    await run_file(job, url)
    with closing(sqlite3.connect(f"file:{journal_path_for(job)}?mode=ro", uri=True)) as db:
        (before, after) = db.execute("SELECT before_json, after_json FROM outcomes WHERE row = 2").fetchone()
    assert json.loads(before) == {"StateCode": "復旧済み", "FinishApprovalUserId": ""}
    assert json.loads(after) == {"StateCode": "クローズ", "FinishApprovalUserId": "SA1234567"}


async def test_already_closed_ticket_is_unchanged_despite_its_guard(
    emu: Emulator, url: str, tmp_path: Path
) -> None:
    """Re-running a close on a ticket that is already closed as asked is `unchanged`, not a failed guard."""
    job = write_job(tmp_path / "job.csv", [{"TicketId": "UTM1000001", **CLOSE}])
    first = await run_file(job, url)
    again = await run_file(job, url)  # a new run: the first one completed
    assert (first.row(2)["outcome"], again.row(2)["outcome"]) == ("updated", "unchanged")
    assert len(entries(emu, "UpdateTicket")) == 1


async def test_rule_broken_only_by_the_fetched_kind_is_invalid_and_not_sent(
    emu: Emulator, url: str, tmp_path: Path
) -> None:
    """復旧済み is an incident state: on a request ticket the merged request is invalid, never sent."""
    job = write_job(tmp_path / "job.csv", [{"TicketId": "UTM2000002", "StateCode": "復旧済み"}])
    ran = await run_file(job, url)
    row = ran.row(2)
    assert (row["outcome"], row["error_type"]) == ("invalid", "PARAMETER_ERROR")
    assert "StateCode" in row["error_message"]
    assert entries(emu, "UpdateTicket") == []
    assert ran.report.exit_code == 1
