"""The small protocol through which a job kind (jobs/) plugs into the engine.

A kind turns validated rows into work units and makes one attempt at a unit per `apply` call. It
does its I/O only through the `api` it is given, returns what happened as values, and never sleeps,
logs or retries by itself: the engine owns limits, retries, logging and the journal. Errors of the
API reach the engine as exceptions (batch.uom.errors), which it sorts in one table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import polars as pl

from batch.outcome import Outcome


@dataclass(frozen=True)
class WorkUnit:
    """Rows that are applied together: one row, or the children of one master in one call.

    `key` serialises units: two units with the same key never run at the same time, and run in
    file order (rows of one ticket are applied in the order the file gives them).
    """

    key: str
    rows: tuple[Any, ...]

    @property
    def row_numbers(self) -> tuple[int, ...]:
        """The spreadsheet row numbers of the unit's rows."""
        return tuple(r.row for r in self.rows)


def ticket_of(row: Any) -> str:
    """The ticket a row is about: its `ticket_id`, or the `child_id` of a release row."""
    return str(getattr(row, "ticket_id", None) or getattr(row, "child_id", ""))


@dataclass(frozen=True)
class RowResult:
    """What one attempt decided for one row."""

    row: int
    ticket_id: str
    outcome: Outcome
    request_id: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    error_detail: str | None = None
    changed_fields: tuple[str, ...] = ()
    before: Mapping[str, str] = field(default_factory=dict)
    after: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AttemptContext:
    """What the engine tells one attempt.

    `intent` is set when an earlier send of this unit may have landed (its reply was lost, or the
    run was killed while it was in flight): the attempt must check the live ticket against it
    before sending anything again.
    """

    attempt: int
    intent: Mapping[str, Any] | None
    note_intent: Callable[[Mapping[str, Any]], Awaitable[None]]  # durable once awaited


class JobKind(Protocol):
    """One kind of job: its columns and rules, its units of work, and one attempt at a unit."""

    name: str
    ticket_column: str  # the job file's column that names the ticket a row is about

    def units(self, rows: Iterable[Any], settings: Mapping[str, Any]) -> Iterator[WorkUnit]: ...

    def items(self, valid: pl.DataFrame) -> Iterator[Any]: ...

    async def apply(self, unit: WorkUnit, api: Any, ctx: AttemptContext) -> Sequence[RowResult]: ...
