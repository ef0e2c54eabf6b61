"""The rejected rows of a validation, with their reasons, as a CSV file an operator opens in Excel.

UTF-8 with a BOM (Excel then reads it as UTF-8). A cell that starts with `=` `+` `-` `@`, tab or
CR gets a leading `'`, so a spreadsheet shows it as text instead of running it as a formula.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from batch.output.files import neutralised
from batch.validation.check import InvalidRows, ValidationResult
from batch.validation.rules import ROW


def default_rejects_path(job_path: Path) -> Path:
    """`<job stem>.rejects.csv` beside the job file."""
    return job_path.with_name(f"{job_path.stem}.rejects.csv")


def rejects_frame(result: ValidationResult | InvalidRows) -> pl.DataFrame:
    """Invalid rows in file order: row, error_code, reasons, then the job's own columns."""
    joined = result.reasons().join(result.invalid, on=ROW, how="left").sort(ROW)
    texts = [c for c, t in joined.schema.items() if t == pl.String]
    return joined.with_columns(neutralised(c) for c in texts)


def write_rejects(result: ValidationResult | InvalidRows, path: Path) -> int:
    """Write the rejected rows to `path` (replacing it whole); the number of rows written."""
    frame = rejects_frame(result)
    partial = path.with_name(path.name + ".partial")
    frame.write_csv(partial, include_bom=True)
    os.replace(partial, path)
    return frame.height
