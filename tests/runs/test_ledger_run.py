"""The ledger a real run writes: its columns, one row per input row, outcomes, cells and audit facts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl

from batch.output.ledger import COLUMNS
from batch.uom.emulator import DEMO_CREDENTIALS, Emulator

from .support import MEMO, read_ledger, run_file, write_job

ROWS = [
    {"TicketId": "UTM1000011", MEMO: "一行目\n二行目"},  # a multi-line cell is still one row
    {"TicketId": "UTM1000012", "Priority": "__live__"},
    {"TicketId": "=1+1", "Priority": "高"},
    {
        "TicketId": "UTM1000071",
        "StateCode": "クローズ",
        "FinishApprovalUserId": "SA1234567",
        "expect.StateCode": "復旧済み",
    },
    {"TicketId": "UTM1999999", "Priority": "高"},
]
OUTCOMES = {2: "updated", 3: "unchanged", 4: "invalid", 5: "precondition_failed", 6: "failed"}


def job_rows(emu: Emulator) -> list[dict[str, str]]:
    """ROWS, with the unchanged row asking for the live value."""
    live = emu.tickets["UTM1000012"]["Priority"]
    return [{k: live if v == "__live__" else v for k, v in r.items()} for r in ROWS]


async def test_csv_ledger_has_one_row_per_input_row(emu: Emulator, url: str, tmp_path: Path) -> None:
    """CSV ledger: the documented columns, spreadsheet row numbers, every outcome, formulas neutralised."""
    job = write_job(tmp_path / "job.csv", job_rows(emu))
    ran = await run_file(job, url, parquet=False)
    ledger = read_ledger(ran.report.ledger_path)
    assert ran.report.ledger_path == tmp_path / "job.ledger.csv"
    assert tuple(ledger.columns) == COLUMNS
    assert dict(ledger.select("row", "outcome").iter_rows()) == {str(k): v for k, v in OUTCOMES.items()}
    assert ledger["ticket_id"].to_list() == ["UTM1000011", "UTM1000012", "'=1+1", "UTM1000071", "UTM1999999"]
    assert ledger["action"].unique().to_list() == ["update-ticket"]
    stamps = ledger.filter(outcome="updated")["finished_at"].to_list()
    assert stamps[0].endswith("Z") and ledger.filter(outcome="invalid")["started_at"].to_list() == [None]


async def test_csv_ledger_sidecar_holds_the_audit_facts(emu: Emulator, url: str, tmp_path: Path) -> None:
    """The sidecar names the job by SHA-256, kind and run, counts the rows, and holds no secret."""
    job = write_job(tmp_path / "job.csv", job_rows(emu))
    ran = await run_file(job, url, parquet=False)
    text = ran.report.ledger_path.with_name("job.ledger.csv.meta.json").read_text(encoding="utf-8")
    meta = json.loads(text)
    assert meta["job_sha256"] == hashlib.sha256(job.read_bytes()).hexdigest()
    assert (meta["kind"], meta["run_id"], meta["ledger.rows"]) == ("update-ticket", "1", "5")
    assert meta["started_at"] <= meta["ended_at"]
    assert DEMO_CREDENTIALS.secret_key not in text


async def test_parquet_ledger_keeps_exact_values(emu: Emulator, url: str, tmp_path: Path) -> None:
    """The Parquet ledger keeps cells as they are, typed, with the audit facts in its metadata."""
    job = write_job(tmp_path / "job.csv", job_rows(emu))
    ran = await run_file(job, url)
    assert ran.outcomes == OUTCOMES
    assert ran.row(4)["ticket_id"] == "=1+1"
    assert ran.row(2)["changed_fields"] == ["CorrespondProcessList"]
    metadata = pl.read_parquet_metadata(ran.report.ledger_path)
    assert metadata["job_sha256"] == hashlib.sha256(job.read_bytes()).hexdigest()
    assert (metadata["ledger.rows"], metadata["kind"]) == ("5", "update-ticket")


async def test_a_retry_jobs_ledger_carries_the_original_row_numbers(
    emu: Emulator, url: str, tmp_path: Path
) -> None:
    """A job with an OriginalRow column (a retry job): the ledger gives each row its first number."""
    rows = [
        {"OriginalRow": "17", "TicketId": "UTM1000011", "Priority": "低"},
        {"OriginalRow": "40", "TicketId": "UTM1000013", "Priority": "低"},
    ]
    ran = await run_file(write_job(tmp_path / "retry.csv", rows), url)
    assert ran.ledger.select("row", "original_row").rows() == [(2, 17), (3, 40)]
    assert set(ran.outcomes.values()) == {"updated"}
