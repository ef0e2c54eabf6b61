"""The job kinds as the engine sees them (batch.kind.JobKind): items, units of work, one attempt.

Columns, rules and items live in each kind's module (`update_ticket`, `release_relation`); the
read-modify-write attempts in `apply_update` and `apply_release`. This module joins them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

import polars as pl

from batch.errors import ConfigError
from batch.kind import AttemptContext, JobKind, RowResult, WorkUnit
from jobs import release_relation, update_ticket
from jobs.apply_release import apply_release, release_units
from jobs.apply_update import apply_update


class UpdateTicketKind:
    """update-ticket: one row is one unit; rows of one ticket run one at a time, in file order."""

    name = "update-ticket"
    ticket_column = "TicketId"

    def items(self, valid: pl.DataFrame) -> Iterator[Any]:
        return update_ticket.items(valid)

    def units(self, rows: Iterable[Any], settings: Mapping[str, Any]) -> Iterator[WorkUnit]:
        return (WorkUnit(key=row.ticket_id, rows=(row,)) for row in rows)

    async def apply(self, unit: WorkUnit, api: Any, ctx: AttemptContext) -> Sequence[RowResult]:
        return await apply_update(unit, api, ctx)


class ReleaseRelationKind:
    """release-relation: the children of one master go in one call, `group_size` at most."""

    name = "release-relation"
    ticket_column = "IncidentId"

    def items(self, valid: pl.DataFrame) -> Iterator[Any]:
        return release_relation.items(valid)

    def units(self, rows: Iterable[Any], settings: Mapping[str, Any]) -> Iterator[WorkUnit]:
        return release_units(rows, int(settings.get("group_size", 50)))

    async def apply(self, unit: WorkUnit, api: Any, ctx: AttemptContext) -> Sequence[RowResult]:
        return await apply_release(unit, api, ctx)


ENGINE_KINDS: Final[dict[str, JobKind]] = {
    k.name: k for k in (UpdateTicketKind(), ReleaseRelationKind())
}


def engine_kind(name: str) -> JobKind:
    """The engine-facing kind named `name`."""
    try:
        return ENGINE_KINDS[name]
    except KeyError:
        raise ConfigError(f"unknown job kind {name!r}; known: {', '.join(ENGINE_KINDS)}") from None
