"""The demo's job files, built to match the emulator's generated tickets (see emulator/seed.py).

The update job closes every recovered incident (with a memo and an `expect.StateCode` guard),
raises the priority of every request, repeats a few tickets, aims some closes at tickets that are
no longer recovered (precondition_failed), and carries deliberately invalid rows. The release job
unlinks every child from its master.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import polars as pl

from batch.uom.emulator.seed import FIRST_INCIDENT, FIRST_REQUEST, INCIDENT_BLOCK

MEMO: Final = "uom-batch デモ: 復旧確認済みのため一括クローズ"
UPDATE_COLUMNS: Final = (
    "TicketId",
    "StateCode",
    "FinishApprovalUserId",
    "Priority",
    "CorrespondProcess",
    "expect.StateCode",
)
INVALID_ROWS: Final = (
    {"TicketId": "UTM1000001", "StateCode": "解決"},  # not a state of either kind
    {"TicketId": "INC0001", "Priority": "高"},  # not a UTM id
    {"TicketId": "UTM1000002", "Priority": "最優先"},  # not 高/中/低
    {"TicketId": "UTM1000003", "StateCode": "対応中", "FinishApprovalUserId": "SA1234567"},
    {"TicketId": "UTM1000004", "FinishApprovalUserId": "1234567"},  # not SA + digits
    {"TicketId": "", "Priority": "高"},  # TicketId missing
)


def _incident(block: int, position: int) -> str:
    return f"UTM{FIRST_INCIDENT + block * INCIDENT_BLOCK + position}"


def _request(number: int) -> str:
    return f"UTM{FIRST_REQUEST + number}"


def update_rows(n_tickets: int) -> list[dict[str, str]]:
    """Rows for the update job over `generate_tickets(n_tickets)`."""
    blocks = n_tickets * 3 // 5 // INCIDENT_BLOCK
    rows: list[dict[str, str]] = []
    for block in range(blocks):
        rows += [_close(_incident(block, p)) for p in range(60)]  # 復旧済み: close them
        rows += [_close(_incident(block, 60 + p)) for p in range(2)]  # 対応中: precondition fails
    rows += [{"TicketId": _request(j), "Priority": "高"} for j in range(n_tickets * 2 // 5)]
    rows += [
        {"TicketId": _incident(0, 61), "Priority": "高"},
        {"TicketId": _incident(0, 61), "Priority": "低"},
    ]
    rows[10:10] = [dict(r) for r in INVALID_ROWS]
    return rows


def _close(ticket_id: str) -> dict[str, str]:
    return {
        "TicketId": ticket_id,
        "StateCode": "クローズ",
        "FinishApprovalUserId": "SA1234567",
        "CorrespondProcess": MEMO,
        "expect.StateCode": "復旧済み",
    }


def release_rows(n_tickets: int) -> list[dict[str, str]]:
    """Rows for the release job: child 61+k of each block leaves master 91 + k//6."""
    blocks = n_tickets * 3 // 5 // INCIDENT_BLOCK
    return [
        {"MasterIncidentId": _incident(b, 90 + k // 6), "IncidentId": _incident(b, 60 + k)}
        for b in range(blocks)
        for k in range(30)
    ]


def write_job(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...]) -> Path:
    """Write rows as a UTF-8 CSV job file, every column text, empty cells where a row is silent."""
    frame = pl.DataFrame(
        [{c: r.get(c, "") for c in columns} for r in rows], schema=dict.fromkeys(columns, pl.String)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)
    return path


def write_demo_jobs(directory: Path, n_tickets: int) -> tuple[Path, Path]:
    """Both demo job files in `directory`."""
    update = write_job(directory / "demo_update_ticket.csv", update_rows(n_tickets), UPDATE_COLUMNS)
    release = write_job(
        directory / "demo_unlink_children.csv", release_rows(n_tickets), ("MasterIncidentId", "IncidentId")
    )
    return update, release
