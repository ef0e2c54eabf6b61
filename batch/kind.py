"""The small protocol through which a job kind (jobs/) plugs into the engine.

A kind turns validated rows into work units and makes one attempt at a unit per `apply` call. It
does its I/O only through the `api` it is given, returns what happened as values, and never sleeps,
logs or retries by itself: the engine owns limits, retries, logging and the journal. Errors of the
API reach the engine as exceptions (batch.uom.errors), which it sorts in one table.

The values that pass once per row (units, results, attempt contexts) are NamedTuples: immutable,
and one tuple to build (a frozen dataclass sets each field through `object.__setattr__`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

import polars as pl

from batch.outcome import Outcome


class JobRow(Protocol):
    """What the engine reads of a kind's row: its spreadsheet row number and the ticket it is about."""

    @property
    def row(self) -> int: ...

    @property
    def ticket_id(self) -> str: ...


RowT = TypeVar("RowT", bound=JobRow)
ApiT = TypeVar("ApiT")
ApiT_contra = TypeVar("ApiT_contra", contravariant=True)


class WorkUnit(NamedTuple, Generic[RowT]):
    """Rows that are applied together: one row, or the children of one master in one call.

    `key` serialises units: two units with the same key never run at the same time, and run in
    file order (rows of one ticket are applied in the order the file gives them).
    """

    key: str
    rows: tuple[RowT, ...]

    @property
    def row_numbers(self) -> tuple[int, ...]:
        """The spreadsheet row numbers of the unit's rows."""
        return tuple(r.row for r in self.rows)


NO_FIELDS: Mapping[str, str] = MappingProxyType({})  # an immutable empty default


class RowResult(NamedTuple):
    """What one attempt decided for one row."""

    row: int
    ticket_id: str
    outcome: Outcome
    request_id: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    error_detail: str | None = None
    changed_fields: tuple[str, ...] = ()
    before: Mapping[str, str] = NO_FIELDS
    after: Mapping[str, str] = NO_FIELDS
    plan: Mapping[str, Any] | None = None  # a planning attempt's record: what a run would send
    memos: Mapping[str, Any] | None = None  # an update's memo operations and what they replaced


class AttemptContext(NamedTuple):
    """What the engine tells one attempt.

    `intent` is set when an earlier send of this unit may have landed (its reply was lost, or the
    run was killed while it was in flight): the attempt must check the live ticket against it
    before sending anything again.
    """

    attempt: int
    intent: Mapping[str, Any] | None
    note_intent: Callable[[Mapping[str, Any]], Awaitable[None]]  # durable once awaited


class JobKind(Protocol[RowT, ApiT_contra]):
    """One kind of job: its rows, its units of work, and one attempt at a unit through `api`.

    RowT is the kind's own row type; ApiT_contra the part of the UOM client its attempts call.
    """

    @property
    def name(self) -> str: ...

    @property
    def ticket_column(self) -> str:
        """The job file's column that names the ticket a row is about."""
        ...

    def items(self, valid: pl.DataFrame) -> Iterator[RowT]: ...

    def units(self, rows: Iterable[RowT], *, group_size: int) -> Iterator[WorkUnit[RowT]]: ...

    async def apply(
        self, unit: WorkUnit[RowT], api: ApiT_contra, ctx: AttemptContext
    ) -> Sequence[RowResult]: ...
