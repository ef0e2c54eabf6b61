"""release-relation: a job file of relations to undo, one child per row; its columns, rules and rows.

Columns are ReleaseIncidentRelate's own names: `MasterIncidentId` (the master) and `IncidentId`
(one child per row) are required; `ServiceCode` and `MasterId` (the applicant account) are
optional and default to the configured ones. `OfficeId` and `Locale` are fixed by the API and
refused as columns. `OriginalRow` (written by `uom-batch retry`) is the row's number in the first
job file. The engine later groups the children of one master into one call.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from batch.uom.spec import RELEASE_FIELDS
from batch.validation.conditions import filled, same
from batch.validation.header import check_header
from batch.validation.rules import ROW, Rule, condition, required
from jobs.fields import ACTION, INVALID, ORIGINAL_ROW, REQUIRED, original_row_rules, value_rules

name = "release-relation"
ACTIONS = ("release-relation", "ReleaseIncidentRelate")
MASTER, CHILD = "MasterIncidentId", "IncidentId"
SERVICE, ACCOUNT = "ServiceCode", "MasterId"
COLUMNS = (MASTER, CHILD, SERVICE, ACCOUNT)
SLICE_ROWS = 10_000


def known_columns() -> tuple[str, ...]:
    """Every column a release-relation job file may have."""
    return (*COLUMNS, ACTION, ORIGINAL_ROW)


def recognises(columns: Collection[str]) -> tuple[str, ...]:
    """The columns that mark a file as release-relation (for inferring the kind)."""
    return tuple(c for c in (MASTER, CHILD) if c in columns)


def check_columns(columns: Sequence[str], source: str) -> None:
    """JobFileError naming every unknown, refused or missing column."""
    fixed = {"OfficeId": "is fixed by the API (IIJ00000001)", "Locale": "is fixed by the API (0)"}
    check_header(columns, source, known=known_columns(), required=(MASTER, CHILD), refused=fixed)


NOT_OWN_MASTER = condition(
    "child_is_master",
    INVALID,
    CHILD,
    filled(CHILD) & same(CHILD, MASTER),
    "a ticket cannot be released from itself",
)


def rules(columns: Collection[str] | None = None) -> tuple[Rule, ...]:
    """The rules for a job file with `columns` (default: every known column)."""
    cols = tuple(COLUMNS if columns is None else columns)
    found = [required(MASTER, REQUIRED), required(CHILD, REQUIRED)]
    found += [r for c in COLUMNS if c in cols for r in value_rules(RELEASE_FIELDS[c], c)]
    return (*found, NOT_OWN_MASTER, *original_row_rules(cols))


@dataclass(frozen=True, slots=True)
class ReleaseRow:
    """One valid row: detach `child_id` from `master_id`."""

    row: int
    master_id: str
    child_id: str
    service_code: str | None = None
    master_id_account: str | None = None

    @property
    def ticket_id(self) -> str:
        """The ticket the row is about: the child it releases."""
        return self.child_id


def items(valid: pl.DataFrame) -> Iterator[ReleaseRow]:
    """The valid rows as ReleaseRow, in file order, built slice by slice."""
    for start in range(0, valid.height, SLICE_ROWS):
        for record in valid.slice(start, SLICE_ROWS).iter_rows(named=True):
            yield _row(record)


def _row(record: Mapping[str, Any]) -> ReleaseRow:
    return ReleaseRow(
        row=int(record[ROW]),
        master_id=record[MASTER],
        child_id=record[CHILD],
        service_code=record.get(SERVICE) or None,
        master_id_account=record.get(ACCOUNT) or None,
    )
