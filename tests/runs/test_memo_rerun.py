"""Memo edits and deletes that already hold send nothing (issue #10), against the emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from batch.uom.emulator import Emulator

from .support import MEMO, MEMOS, Turnstile, entries, run_file, write_job

SEQ = "CorrespondProcessSeq"
CLASS = "CorrespondProcessOperationClass"


def memo_ops(*ops: tuple[str, str, str]) -> str:
    """A CorrespondProcessList cell: (seq, class, text) per operation."""
    return json.dumps([{SEQ: s, CLASS: c, MEMO: t} for s, c, t in ops], ensure_ascii=False)


def memos_of(emu: Emulator, ticket_id: str) -> dict[str, str]:
    """The ticket's memos, seq → text."""
    return {m[SEQ]: m[MEMO] for m in emu.tickets[ticket_id][MEMOS]}


def delete_memo(emu: Emulator, ticket_id: str, seq: str) -> None:
    """Another operator deletes memo `seq` and saves (a memo of theirs, fresh stamps)."""
    emu.tickets[ticket_id][MEMOS] = [m for m in emu.tickets[ticket_id][MEMOS] if m[SEQ] != seq]
    emu.other_operator_edit(ticket_id)


RERUN = [
    {"TicketId": "UTM1000001", "Priority": "高", "ClearFields": "Category",
     MEMOS: memo_ops(("2", "1", "編集しました"), ("3", "2", ""))},
    {"TicketId": "UTM1000003", SEQ: "1", CLASS: "1", MEMO: "お客様へ再度ご連絡しました。"},
    {"TicketId": "UTM1000004", SEQ: "1", CLASS: "2"},
    {"TicketId": "UTM1000012", "ClearFields": "SubStateCode", MEMOS: memo_ops(("02", "2", ""))},
]


async def test_rerun_of_a_completed_job_sends_no_update(emu: Emulator, url: str, tmp_path: Path) -> None:
    """Re-running a completed job of memo edits, deletes, ClearFields and field changes sends nothing."""
    job = write_job(tmp_path / "job.csv", RERUN)
    kept = memos_of(emu, "UTM1000001")["1"]
    first = await run_file(job, url)
    sent = len(entries(emu, "UpdateTicket"))
    again = await run_file(job, url)  # a new run: the first one completed
    assert set(first.outcomes.values()) == {"updated"} and sent == len(RERUN)
    assert set(again.outcomes.values()) == {"unchanged"} and again.report.exit_code == 0
    assert len(entries(emu, "UpdateTicket")) == sent
    assert memos_of(emu, "UTM1000001") == {"1": kept, "2": "編集しました"}
    assert "1" not in memos_of(emu, "UTM1000004") and "2" not in memos_of(emu, "UTM1000012")


async def test_delete_of_a_memo_already_gone_is_not_sent(emu: Emulator, url: str, tmp_path: Path) -> None:
    """A memo another operator deleted first: alone the row is unchanged, beside a field change left out."""
    delete_memo(emu, "UTM1000001", "3")
    delete_memo(emu, "UTM1000003", "2")
    rows = [
        {"TicketId": "UTM1000001", SEQ: "3", CLASS: "2"},
        {"TicketId": "UTM1000003", "Priority": "高", SEQ: "2", CLASS: "2"},
    ]
    ran = await run_file(write_job(tmp_path / "job.csv", rows), url)
    assert ran.outcomes == {2: "unchanged", 3: "updated"} and ran.report.exit_code == 0
    assert entries(emu, "UpdateTicket", "UTM1000001") == []
    assert ran.row(3)["changed_fields"] == ["Priority"]
    assert emu.tickets["UTM1000003"]["Priority"] == "高"


async def test_edit_of_a_memo_gone_is_invalid(emu: Emulator, url: str, tmp_path: Path) -> None:
    """An edit of a memo that no longer exists is invalid, naming the seq, and is never sent."""
    delete_memo(emu, "UTM1000001", "3")
    rows = [{"TicketId": "UTM1000001", "Priority": "高", SEQ: "3", CLASS: "1", MEMO: "x"}]
    ran = await run_file(write_job(tmp_path / "job.csv", rows), url)
    row = ran.row(2)
    assert (row["outcome"], row["error_type"]) == ("invalid", "PARAMETER_ERROR")
    assert row["error_message"].startswith("CorrespondProcessSeq 3: the ticket has no memo 3 to edit")
    assert entries(emu, "UpdateTicket") == [] and ran.report.exit_code == 1


def delete_on_send(emu: Emulator, gate: Turnstile, ticket_id: str) -> str:
    """Their save of the delete lands just before our first send (the emulator then blames the seq)."""

    async def delete() -> None:
        delete_memo(emu, ticket_id, "3")

    gate.on_arrival(2, delete)  # 1: our fetch, 2: our send
    return "PARAMETER_ERROR"


def save_then_delete(emu: Emulator, gate: Turnstile, ticket_id: str) -> str:
    """Their save makes our send a conflict; their delete lands before our refetch."""

    async def save() -> None:
        emu.other_operator_edit(ticket_id)

    async def delete() -> None:
        delete_memo(emu, ticket_id, "3")

    gate.on_arrival(2, save)
    gate.on_arrival(3, delete)  # 3: the refetch after the conflict
    return "EXCLUSION_FAILURE"


Script = Callable[[Emulator, Turnstile, str], str]


@pytest.mark.parametrize("script", [delete_on_send, save_then_delete])
@pytest.mark.parametrize("priority", [False, True])
async def test_memo_deleted_between_conflict_and_retry(
    emu: Emulator, gate: Turnstile, url: str, tmp_path: Path, script: Script, priority: bool
) -> None:
    """A delete whose memo goes while the row is in flight is dropped on the retry after the conflict."""
    tid = "UTM1000001"
    first_error = script(emu, gate, tid)
    row = {"TicketId": tid, SEQ: "3", CLASS: "2", **({"Priority": "高"} if priority else {})}
    ran = await run_file(write_job(tmp_path / "job.csv", [row]), url)
    got = ran.row(2)
    updates = entries(emu, "UpdateTicket")
    assert updates[0].error_type == first_error and (got["attempts"], got["conflicts"]) == (2, 1)
    if priority:
        assert [u.error_type for u in updates] == [first_error, None]
        assert (got["outcome"], got["changed_fields"]) == ("updated", ["Priority"])
    else:
        assert len(updates) == 1 and got["outcome"] == "unchanged"
    assert "3" not in memos_of(emu, tid) and ran.report.exit_code == 0
