"""`uom-batch revert LEDGER` against the emulator: a mass close put back, memos restored (issue #11)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import anyio

from batch.uom.emulator import Emulator

from .support import MEMO, MEMOS, REPO, cli_env, memo_texts, run_file, write_job

SEQ, CLASS = "CorrespondProcessSeq", "CorrespondProcessOperationClass"
CLOSED = [f"UTM10000{n:02d}" for n in range(13, 21)]


async def revert(ledger: Path, url: str) -> tuple[int, str, Path]:
    """`python -m batch revert LEDGER` in a subprocess: (exit code, stdout, the undo job)."""
    command = [sys.executable, "-m", "batch", "revert", str(ledger)]
    done = await anyio.run_process(command, cwd=REPO, env=cli_env(url), check=False)
    undo = ledger.with_name(ledger.name.removesuffix(".ledger.parquet") + ".undo.csv")
    return done.returncode, done.stdout.decode() + done.stderr.decode(), undo


def not_revertible(undo: Path) -> list[dict[str, str]]:
    """The lines of `<undo>.not-revertible.csv`."""
    with undo.with_name(undo.stem + ".not-revertible.csv").open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


async def test_mass_close_reverted_brings_tickets_back_except_those_changed_since(
    emu: Emulator, url: str, tmp_path: Path
) -> None:
    """Close 8 incidents with a memo, revert: states and memos come back; one reopened since is left."""
    before = {t: (emu.tickets[t]["StateCode"], memo_texts(emu, t)) for t in CLOSED}
    rows = [
        {"TicketId": t, "StateCode": "クローズ", "FinishApprovalUserId": "SA1234567", MEMO: "一括クローズ"}
        for t in CLOSED
    ]
    ran = await run_file(write_job(tmp_path / "close.csv", rows), url)
    assert set(ran.outcomes.values()) == {"updated"}
    emu.tickets[CLOSED[3]]["StateCode"] = "対応中"  # someone reopens one ticket after the close
    emu.other_operator_edit(CLOSED[3])
    theirs = (emu.tickets[CLOSED[3]]["StateCode"], memo_texts(emu, CLOSED[3]))
    code, said, undo = await revert(ran.report.ledger_path, url)
    assert code == 0, said
    assert {line["what"] for line in not_revertible(undo)} == {"FinishApprovalUserId"}
    back = await run_file(undo, url)
    assert sorted(back.outcomes.values()) == ["precondition_failed"] + ["updated"] * 7
    for ticket in CLOSED:
        now = (emu.tickets[ticket]["StateCode"], memo_texts(emu, ticket))
        assert now == (theirs if ticket == CLOSED[3] else before[ticket]), ticket


async def test_memo_edit_and_delete_are_restored(emu: Emulator, url: str, tmp_path: Path) -> None:
    """A run that edited one memo and deleted another: the undo restores the text and adds the other back."""
    ticket = "UTM1000001"
    memos = {m[SEQ]: m[MEMO] for m in emu.tickets[ticket][MEMOS]}
    ops = [{SEQ: "1", CLASS: "1", MEMO: "書き換え"}, {SEQ: "2", CLASS: "2", MEMO: ""}]
    job = write_job(tmp_path / "memo.csv", [{"TicketId": ticket, MEMOS: json.dumps(ops, ensure_ascii=False)}])
    ran = await run_file(job, url)
    assert ran.outcomes == {2: "updated"}
    code, said, undo = await revert(ran.report.ledger_path, url)
    assert code == 0, said
    assert (await run_file(undo, url)).outcomes == {2: "updated"}
    after = {m[SEQ]: m[MEMO] for m in emu.tickets[ticket][MEMOS]}
    assert after["1"] == memos["1"] and "2" not in after
    assert sorted(after.values()) == sorted(memos.values())


async def test_release_run_revert_lists_every_row(emu: Emulator, url: str, tmp_path: Path) -> None:
    """A release cannot be undone through the API: every released row is listed, the undo job is empty."""
    rows = [{"MasterIncidentId": "UTM1000091", "IncidentId": f"UTM10000{n}"} for n in (61, 62, 63)]
    ran = await run_file(write_job(tmp_path / "unlink.csv", rows), url)
    assert set(ran.outcomes.values()) == {"released"}
    code, said, undo = await revert(ran.report.ledger_path, url)
    assert code == 0, said
    listed = not_revertible(undo)
    assert [int(line["row"]) for line in listed] == [4, 3, 2]
    assert {line["what"] for line in listed} == {"MasterTicketId"}
    assert undo.read_text(encoding="utf-8-sig").strip() == "OriginalRow,TicketId"
