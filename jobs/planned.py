"""Applying a reviewed plan (`run --plan`): exactly the planned requests, one call per row.

An update sends the request recorded at plan time, with the concurrency timestamps read then and
no new GetTicketDetail. A ticket changed since then is refused by the server (EXCLUSION_FAILURE):
the row ends `stale`, untouched, never merged again and never resent. After a lost reply the
ticket is read once: the planned change is there (`updated`), the ticket is as planned (send
again, the server still guards it), or it changed otherwise (`stale`). Release groups go out as
planned and are bisected on refusal; a child refused alone is read to say why.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import polars as pl

from batch.kind import AttemptContext, RowResult, WorkUnit
from batch.outcome import Outcome
from batch.uom.errors import Conflict, Refused, UomError
from batch.uom.ticket import TicketDetail
from jobs.apply_release import ReleaseApi, apply_release, release_units
from jobs.apply_update import TicketApi, blames_memo_seq, landed
from jobs.release_relation import ReleaseRow
from jobs.ticket_merge import has_landed, memo_record

STALE_MESSAGE = "the ticket changed since the plan was made; not sent again (re-plan this row)"


@dataclass(frozen=True)
class PlannedUpdate:
    """One planned UpdateTicket: the exact request, and what it changes."""

    row: int
    ticket_id: str
    request: Mapping[str, Any]
    intent: Mapping[str, Any]
    changed_fields: tuple[str, ...]
    before: Mapping[str, str]
    after: Mapping[str, str]


def planned_updates(frame: pl.DataFrame) -> Iterator[PlannedUpdate]:
    """The plan's would_update rows (row, ticket_id, changed_fields, *_json columns) in row order."""
    for r in frame.iter_rows(named=True):
        yield PlannedUpdate(
            row=int(r["row"]),
            ticket_id=r["ticket_id"],
            request=orjson.loads(r["request_json"]),
            intent=orjson.loads(r["intent_json"]),
            changed_fields=tuple(r["changed_fields"] or ()),
            before=orjson.loads(r["before_json"]),
            after=orjson.loads(r["after_json"]),
        )


def planned_releases(frame: pl.DataFrame) -> Iterator[ReleaseRow]:
    """The plan's would_release rows as release rows, in row order."""
    for r in frame.iter_rows(named=True):
        request = orjson.loads(r["request_json"])
        yield ReleaseRow(
            row=int(r["row"]),
            master_id=request["MasterIncidentId"],
            child_id=request["IncidentId"],
            service_code=request.get("ServiceCode"),
            master_id_account=request.get("MasterID"),
        )


async def apply_planned_update(
    unit: WorkUnit[PlannedUpdate], api: TicketApi, ctx: AttemptContext
) -> Sequence[RowResult]:
    """Send the planned request as it is; a changed ticket makes the row `stale`."""
    (row,) = unit.rows
    if ctx.intent is not None:  # an earlier send may have landed: read once, never resend blind
        ticket = await api.get_ticket_detail(row.ticket_id)
        if has_landed(ctx.intent, ticket):
            return [landed(row.row, ticket, ctx.intent)]
        if dict(ticket.timestamps) != row.intent["stamps"]:
            return [_stale(row, ticket.request_id, None)]
    await ctx.note_intent(row.intent)
    try:
        request_id = await api.update_ticket(row.request)
    except Conflict as exc:
        return [_stale(row, exc.request_id, exc)]
    except Refused as exc:
        if blames_memo_seq(exc) and await _changed_since_plan(api, row):
            return [_stale(row, exc.request_id, exc)]
        raise
    return [_updated(row, request_id)]


async def _changed_since_plan(api: TicketApi, row: PlannedUpdate) -> bool:
    """A memo the request names was refused: the ticket changed since the plan if its stamps did."""
    ticket: TicketDetail = await api.get_ticket_detail(row.ticket_id)
    planned: Mapping[str, str] = row.intent["stamps"]
    return dict(ticket.timestamps) != planned


def _stale(row: PlannedUpdate, request_id: str | None, exc: UomError | None) -> RowResult:
    return RowResult(
        row=row.row,
        ticket_id=row.ticket_id,
        outcome=Outcome.STALE,
        request_id=request_id,
        error_type=(exc.error_type if exc else None) or "STALE",
        error_message=STALE_MESSAGE,
    )


def _updated(row: PlannedUpdate, request_id: str) -> RowResult:
    return RowResult(
        row=row.row,
        ticket_id=row.ticket_id,
        outcome=Outcome.UPDATED,
        request_id=request_id,
        changed_fields=row.changed_fields,
        before=row.before,
        after=row.after,
        memos=memo_record(row.intent),
    )


class PlannedUpdateKind:
    """update-ticket from a plan: one planned row per unit, one call per row."""

    name = "update-ticket"
    ticket_column = "TicketId"

    def items(self, valid: pl.DataFrame) -> Iterator[PlannedUpdate]:
        return planned_updates(valid)

    def units(self, rows: Iterable[PlannedUpdate], *, group_size: int) -> Iterator[WorkUnit[PlannedUpdate]]:
        return (WorkUnit(key=row.ticket_id, rows=(row,)) for row in rows)

    async def apply(
        self, unit: WorkUnit[PlannedUpdate], api: TicketApi, ctx: AttemptContext
    ) -> Sequence[RowResult]:
        return await apply_planned_update(unit, api, ctx)


class PlannedReleaseKind:
    """release-relation from a plan: the planned groups, sent without reading the children first."""

    name = "release-relation"
    ticket_column = "IncidentId"

    def items(self, valid: pl.DataFrame) -> Iterator[ReleaseRow]:
        return planned_releases(valid)

    def units(self, rows: Iterable[ReleaseRow], *, group_size: int) -> Iterator[WorkUnit[ReleaseRow]]:
        return release_units(rows, group_size)

    async def apply(
        self, unit: WorkUnit[ReleaseRow], api: ReleaseApi, ctx: AttemptContext
    ) -> Sequence[RowResult]:
        return await apply_release(unit, api, ctx, planned=True)


PLANNED_KINDS: dict[str, PlannedUpdateKind | PlannedReleaseKind] = {
    k.name: k for k in (PlannedUpdateKind(), PlannedReleaseKind())
}
