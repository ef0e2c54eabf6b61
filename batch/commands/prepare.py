"""Load and validate a job file (or a checked plan) into what a run needs (`run`, `plan`, `demo`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import structlog

from batch.jobfile.load import ROW, LoadedJob, load_job
from batch.kind import JobKind
from batch.outcome import PREDICTIONS, Outcome, RowOutcome
from batch.output.plan_file import Plan
from batch.runs.run_job import PreparedJob
from batch.validation.check import ValidationResult
from jobs.fields import ORIGINAL_ROW
from jobs.kinds import RegisteredKind
from jobs.planned import PLANNED_KINDS
from jobs.registry import check_job

log = structlog.get_logger("batch")


def prepare_job(
    path: Path, *, action: str | None, encoding: str | None
) -> tuple[PreparedJob[Any], RegisteredKind]:
    """Load, decide the kind, validate; JobFileError (exit 2) when the file cannot be used."""
    loaded = load_job(path, encoding=encoding)
    checked = check_job(loaded, action)
    kind = checked.kind
    result = checked.result
    log.info(
        "batch.job_loaded",
        job=str(path),
        kind=kind.name,
        how=checked.how,
        rows=result.rows,
        invalid=result.invalid_rows,
    )
    job = PreparedJob(
        path=path,
        sha256=loaded.sha256,
        kind_name=kind.name,
        total_rows=result.rows,
        all_rows=lambda: _rows_and_tickets(loaded, kind.ticket_column),
        settled=invalid_outcomes(result, kind.name, kind.ticket_column),
        items=lambda: kind.items(result.valid),
        original_rows=_original_rows(loaded),
        columns=tuple(loaded.columns),
    )
    return job, kind


def _original_rows(loaded: LoadedJob) -> dict[int, int] | None:
    """Row → its OriginalRow (a retry job's numbers in the first job file), when the file has them."""
    if ORIGINAL_ROW not in loaded.columns:
        return None
    pairs = loaded.frame.select(ROW, ORIGINAL_ROW).iter_rows()
    return {row: int(value) for row, value in pairs if value and value.isdigit()}


def _rows_and_tickets(loaded: LoadedJob, column: str) -> Iterator[tuple[int, str]]:
    frame = loaded.frame.select(ROW, pl.col(column) if column in loaded.columns else pl.lit(""))
    yield from frame.iter_rows()


def invalid_outcomes(result: ValidationResult, action: str, column: str) -> list[RowOutcome]:
    """One `invalid` outcome per rejected row, with every reason the validation found."""
    tickets = result.invalid.select(ROW, pl.col(column) if column in result.invalid.columns else pl.lit(""))
    reasons = result.reasons().join(tickets, on=ROW, how="left")
    return [
        RowOutcome(
            row=row,
            action=action,
            ticket_id=ticket or "",
            outcome=Outcome.INVALID,
            error_type=code,
            error_message=text,
        )
        for row, code, text, ticket in reasons.select(
            ROW, "error_code", "reasons", reasons.columns[-1]
        ).iter_rows()
    ]


def prepare_plan(plan: Plan) -> tuple[PreparedJob[Any], JobKind[Any, Any]]:
    """A checked plan as a job: the planned rows to send, every other row settled as planned."""
    kind = PLANNED_KINDS[plan.meta["kind"]]
    rows = plan.rows
    to_send = pl.col("predicted").is_in([o.value for o in PREDICTIONS])
    job = PreparedJob(
        path=plan.path,
        sha256=plan.sha256,
        kind_name=kind.name,
        total_rows=rows.height,
        all_rows=lambda: rows.select("row", "ticket_id").iter_rows(),
        settled=[_planned_outcome(r, kind.name) for r in rows.filter(~to_send).iter_rows(named=True)],
        items=lambda: kind.items(rows.filter(to_send)),
        facts={
            "job_file": plan.meta["job_file"],
            "job_sha256": plan.meta["job_sha256"],
            "plan_file": str(plan.path),
            "plan_sha256": plan.sha256,
            "plan_created_at": plan.meta["created_at"],
        },
    )
    log.info("batch.plan_loaded", plan=str(plan.path), kind=kind.name, rows=rows.height)
    return job, kind


def _planned_outcome(r: dict[str, Any], action: str) -> RowOutcome:
    """A row the plan does not send ends as the plan predicted (unchanged, invalid, failed, ...)."""
    return RowOutcome(
        row=r["row"],
        action=action,
        ticket_id=r["ticket_id"] or "",
        outcome=Outcome(r["predicted"]),
        error_type=r["error_type"],
        error_message=r["error_message"],
        request_id=r["request_id"],
    )
