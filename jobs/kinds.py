"""The job kinds: each one object with its file side (columns, rules, rows) and its engine side.

The file side (`ACTIONS`, `recognises`, `check_columns`, `rules`, `items`) lives in each kind's
module (`update_ticket`, `release_relation`); the engine side (`units`, `apply`, batch.kind.JobKind)
in `apply_update` and `apply_release`. `KINDS` is the one registry of them, by CLI name.
"""

from __future__ import annotations

from collections.abc import Collection, Coroutine, Iterable, Iterator, Sequence
from typing import Any, Final, Protocol

import polars as pl

from batch.kind import AttemptContext, JobKind, RowResult, WorkUnit
from batch.validation.rules import Rule
from jobs import release_relation, update_ticket
from jobs.apply_release import ReleaseApi, apply_release, release_units
from jobs.apply_update import TicketApi, apply_update
from jobs.release_relation import ReleaseRow
from jobs.update_ticket import UpdateRow


class UpdateTicketKind:
    """update-ticket: one row is one unit; rows of one ticket run one at a time, in file order."""

    name = update_ticket.name
    ticket_column = "TicketId"
    actions = update_ticket.ACTIONS

    def recognises(self, columns: Collection[str]) -> tuple[str, ...]:
        return update_ticket.recognises(columns)

    def check_columns(self, columns: Sequence[str], source: str) -> None:
        update_ticket.check_columns(columns, source)

    def rules(self, columns: Collection[str]) -> tuple[Rule, ...]:
        return update_ticket.rules(columns)

    def items(self, valid: pl.DataFrame) -> Iterator[UpdateRow]:
        return update_ticket.items(valid)

    def units(self, rows: Iterable[UpdateRow], *, group_size: int) -> Iterator[WorkUnit[UpdateRow]]:
        return (WorkUnit(row.ticket_id, (row,)) for row in rows)

    def apply(
        self, unit: WorkUnit[UpdateRow], api: TicketApi, ctx: AttemptContext
    ) -> Coroutine[Any, Any, Sequence[RowResult]]:
        # The attempt's own coroutine, not one more awaiting it (one object less per row).
        return apply_update(unit, api, ctx)


class ReleaseRelationKind:
    """release-relation: the children of one master go in one call, `group_size` at most."""

    name = release_relation.name
    ticket_column = "IncidentId"
    actions = release_relation.ACTIONS

    def recognises(self, columns: Collection[str]) -> tuple[str, ...]:
        return release_relation.recognises(columns)

    def check_columns(self, columns: Sequence[str], source: str) -> None:
        release_relation.check_columns(columns, source)

    def rules(self, columns: Collection[str]) -> tuple[Rule, ...]:
        return release_relation.rules(columns)

    def items(self, valid: pl.DataFrame) -> Iterator[ReleaseRow]:
        return release_relation.items(valid)

    def units(self, rows: Iterable[ReleaseRow], *, group_size: int) -> Iterator[WorkUnit[ReleaseRow]]:
        return release_units(rows, group_size)

    def apply(
        self, unit: WorkUnit[ReleaseRow], api: ReleaseApi, ctx: AttemptContext
    ) -> Coroutine[Any, Any, Sequence[RowResult]]:
        return apply_release(unit, api, ctx)


class RegisteredKind(JobKind[Any, Any], Protocol):
    """A kind as the registry and the commands hold it: the engine side plus the file side.

    The registry holds kinds of different row types, so their type arguments are Any here; the
    engine itself is generic over them (batch.kind.JobKind).
    """

    @property
    def actions(self) -> tuple[str, ...]: ...
    def recognises(self, columns: Collection[str]) -> tuple[str, ...]: ...
    def check_columns(self, columns: Sequence[str], source: str) -> None: ...
    def rules(self, columns: Collection[str]) -> tuple[Rule, ...]: ...


KINDS: Final[dict[str, RegisteredKind]] = {k.name: k for k in (UpdateTicketKind(), ReleaseRelationKind())}
