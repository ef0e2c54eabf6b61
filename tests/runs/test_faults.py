"""Every fault the emulator can inject, met by a real run: retried, refetched, or final as it should be."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from batch.uom.emulator import Emulator

from .support import MEMO, SETTINGS, entries, memo_texts, run_file, write_job

TICKET = "UTM1000001"
ROW = {
    "TicketId": TICKET,
    "StateCode": "クローズ",
    "FinishApprovalUserId": "SA1234567",
    "expect.StateCode": "復旧済み",
    MEMO: "batch memo",
}
RECOVERED = [
    ("GetTicketDetail", "system_error", 2),
    ("GetTicketDetail", "http500", 2),
    ("GetTicketDetail", "drop_before", 2),
    ("GetTicketDetail", "drop_after", 2),
    ("GetTicketDetail", "rate_limited", 1),
    ("UpdateTicket", "system_error", 2),
    ("UpdateTicket", "http500", 2),
    ("UpdateTicket", "drop_before", 2),
    ("UpdateTicket", "drop_after", 2),
    ("UpdateTicket", "rate_limited", 1),
    ("UpdateTicket", "other_operator", 2),
]


@pytest.mark.parametrize(("action", "fault", "attempts"), RECOVERED)
async def test_update_recovers_from_fault(
    emu: Emulator, url: str, tmp_path: Path, action: str, fault: str, attempts: int
) -> None:
    """A transient fault costs a retry (a 429 none); the row ends updated with its memo exactly once."""
    emu.script(action, fault)
    ran = await run_file(write_job(tmp_path / "job.csv", [ROW]), url)
    row = ran.row(2)
    assert (row["outcome"], row["attempts"]) == ("updated", attempts)
    assert emu.tickets[TICKET]["StateCode"] == "クローズ"
    assert memo_texts(emu, TICKET).count("batch memo") == 1
    assert row["request_id"] in {e.request_id for e in emu.log if e.request_id}
    assert ran.report.exit_code == 0


@pytest.mark.parametrize("action", ["GetTicketDetail", "UpdateTicket"])
async def test_auth_failure_fails_the_row(emu: Emulator, url: str, tmp_path: Path, action: str) -> None:
    """A lone AUTH_FAILURE is final for its row (not retried) and leaves the ticket as it was."""
    emu.script(action, "auth_failure")
    ran = await run_file(write_job(tmp_path / "job.csv", [ROW]), url)
    row = ran.row(2)
    assert (row["outcome"], row["error_type"], row["attempts"]) == ("failed", "AUTH_FAILURE", 1)
    assert emu.tickets[TICKET]["StateCode"] == "復旧済み"
    assert len(entries(emu, action)) == 1
    assert ran.report.exit_code == 1


async def test_lost_reply_is_not_applied_twice(emu: Emulator, url: str, tmp_path: Path) -> None:
    """An update whose reply is lost is found on the refetch: updated once, not precondition_failed."""
    emu.script("UpdateTicket", "drop_after")
    ran = await run_file(write_job(tmp_path / "job.csv", [ROW]), url)
    fetches = entries(emu, "GetTicketDetail")
    assert [e.fault for e in entries(emu, "UpdateTicket")] == ["drop_after"]
    row = ran.row(2)
    assert (row["outcome"], row["request_id"]) == ("updated", fetches[-1].request_id)
    assert "StateCode" in row["changed_fields"]
    assert memo_texts(emu, TICKET).count("batch memo") == 1


async def test_conflict_is_resolved_by_refetch(emu: Emulator, url: str, tmp_path: Path) -> None:
    """EXCLUSION_FAILURE after another operator's save: refetch, merge, resend; both memos are kept."""
    emu.script("UpdateTicket", "other_operator")
    ran = await run_file(write_job(tmp_path / "job.csv", [ROW]), url)
    updates = entries(emu, "UpdateTicket")
    assert [e.error_type for e in updates] == ["EXCLUSION_FAILURE", None]
    row = ran.row(2)
    assert (row["outcome"], row["conflicts"], row["request_id"]) == ("updated", 1, updates[-1].request_id)
    assert memo_texts(emu, TICKET)[-2:] == ["SA2345678 が対応状況を更新しました。", "batch memo"]
    assert ran.report.conflicts == 1


async def test_conflicts_beyond_the_budget_fail(emu: Emulator, url: str, tmp_path: Path) -> None:
    """One conflict more than max_conflicts (5) makes the row failed with EXCLUSION_FAILURE."""
    for _ in range(6):
        emu.script("UpdateTicket", "other_operator")
    ran = await run_file(write_job(tmp_path / "job.csv", [ROW]), url)
    row = ran.row(2)
    assert (row["outcome"], row["error_type"], row["conflicts"]) == ("failed", "EXCLUSION_FAILURE", 6)
    assert memo_texts(emu, TICKET).count("batch memo") == 0


async def test_transient_errors_beyond_the_budget_fail(emu: Emulator, url: str, tmp_path: Path) -> None:
    """One SYSTEM_ERROR more than max_transient (4) makes the row failed, after 5 attempts."""
    for _ in range(5):
        emu.script("GetTicketDetail", "system_error")
    ran = await run_file(write_job(tmp_path / "job.csv", [ROW]), url)
    row = ran.row(2)
    assert (row["outcome"], row["error_type"], row["attempts"]) == ("failed", "SYSTEM_ERROR", 5)
    assert entries(emu, "UpdateTicket") == []


async def test_budget_spent_after_a_lost_reply_says_it_may_have_landed(
    emu: Emulator, url: str, tmp_path: Path
) -> None:
    """With no retries left after a lost reply, the failed row warns that the send may have landed."""
    other = next(p for p in ("高", "中", "低") if p != emu.tickets["UTM1000070"]["Priority"])
    job = write_job(tmp_path / "job.csv", [{"TicketId": "UTM1000070", "Priority": other}])
    emu.script("UpdateTicket", "drop_after")
    no_retries = replace(SETTINGS, policy=replace(SETTINGS.policy, max_transient=0))
    ran = await run_file(job, url, no_retries)
    row = ran.row(2)
    assert (row["outcome"], row["error_type"]) == ("failed", "OutcomeUnknown")
    assert "may have landed" in row["error_message"]
    assert emu.tickets["UTM1000070"]["Priority"] == other  # it had, indeed
