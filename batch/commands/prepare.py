"""Load and validate a job file into what a run needs (shared by `run` and `demo`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import structlog

from batch.jobfile.load import ROW, LoadedJob, load_job
from batch.outcome import Outcome, RowOutcome
from batch.runs.run_job import PreparedJob
from batch.validation.check import ValidationResult
from jobs.kinds import RegisteredKind
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
        invalid=result.invalid.height,
    )
    job = PreparedJob(
        path=path,
        sha256=loaded.sha256,
        kind_name=kind.name,
        total_rows=result.rows,
        all_rows=lambda: _rows_and_tickets(loaded, kind.ticket_column),
        invalid=_invalid_outcomes(result, kind.name, kind.ticket_column),
        items=lambda: kind.items(result.valid),
    )
    return job, kind


def _rows_and_tickets(loaded: LoadedJob, column: str) -> Iterator[tuple[int, str]]:
    frame = loaded.frame.select(ROW, pl.col(column) if column in loaded.columns else pl.lit(""))
    yield from frame.iter_rows()


def _invalid_outcomes(result: ValidationResult, action: str, column: str) -> list[RowOutcome]:
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
