"""Planning: what a run would do to each row now, read from the live tickets, with nothing sent.

A planning kind reads every ticket the job touches (GetTicketDetail; for release-relation each
child) and decides each row with the same pure functions `run` uses (`decide_update`,
`decide_child`), so a plan's predictions and a run's outcomes come from one set of rules. A row
that a run would send is predicted `would_update` / `would_release`, and its result carries the
exact request (with the ticket's concurrency timestamps as read) for `run --plan` to send.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Sequence
from typing import Any

import polars as pl

from batch.kind import AttemptContext, RowResult, WorkUnit
from batch.outcome import Outcome
from batch.validation.rules import Rule
from jobs.apply_release import ReleaseApi, decide_child
from jobs.apply_update import TicketApi, changed_result, decide_update, request_for
from jobs.kinds import RegisteredKind
from jobs.release_relation import ReleaseRow
from jobs.ticket_merge import intent_for
from jobs.update_ticket import UpdateRow

PLAN_REQUEST = "request"  # the exact body a run would send
PLAN_INTENT = "intent"  # what the landed check needs after a lost reply (stamps, after-values, memos)


async def plan_update(unit: WorkUnit[UpdateRow], api: TicketApi, ctx: AttemptContext) -> Sequence[RowResult]:
    """Read the row's ticket and predict what `run` would do; nothing is sent."""
    (row,) = unit.rows
    ticket = await api.get_ticket_detail(row.ticket_id)
    decided = decide_update(row, ticket)
    if isinstance(decided, RowResult):
        return [decided]
    plan = {PLAN_REQUEST: request_for(decided, row), PLAN_INTENT: intent_for(ticket, decided)}
    return [
        changed_result(
            row.row, ticket.ticket_id, Outcome.WOULD_UPDATE, decided, request_id=ticket.request_id, plan=plan
        )
    ]


async def plan_release(
    unit: WorkUnit[ReleaseRow], api: ReleaseApi, ctx: AttemptContext
) -> Sequence[RowResult]:
    """Read each child and predict what `run` would do with the group; nothing is sent."""
    master, seen = unit.key, set()
    results = []
    for row in unit.rows:
        if row.child_id in seen:
            results.append(RowResult(row=row.row, ticket_id=row.child_id, outcome=Outcome.UNCHANGED))
            continue
        seen.add(row.child_id)
        decided = await decide_child(row, master, api, set())
        results.append(decided or _would_release(row))
    return results


def _would_release(row: ReleaseRow) -> RowResult:
    request = {
        "MasterIncidentId": row.master_id,
        "IncidentId": row.child_id,
        "ServiceCode": row.service_code,
        "MasterID": row.master_id_account,
    }
    return RowResult(
        row=row.row,
        ticket_id=row.child_id,
        outcome=Outcome.WOULD_RELEASE,
        changed_fields=("MasterTicketId",),
        before={"MasterTicketId": row.master_id},
        after={"MasterTicketId": ""},
        plan={PLAN_REQUEST: request},
    )


Planner = Callable[[WorkUnit[Any], Any, AttemptContext], Awaitable[Sequence[RowResult]]]
PLANNERS: dict[str, Planner] = {"update-ticket": plan_update, "release-relation": plan_release}


class PlanningKind:
    """A registered kind whose attempts read and predict instead of sending (for `uom-batch plan`)."""

    def __init__(self, kind: RegisteredKind) -> None:
        self._kind = kind
        self._plan = PLANNERS[kind.name]
        self.name = kind.name
        self.ticket_column = kind.ticket_column
        self.actions = kind.actions

    def recognises(self, columns: Collection[str]) -> tuple[str, ...]:
        return self._kind.recognises(columns)

    def check_columns(self, columns: Sequence[str], source: str) -> None:
        self._kind.check_columns(columns, source)

    def rules(self, columns: Collection[str]) -> tuple[Rule, ...]:
        return self._kind.rules(columns)

    def items(self, valid: pl.DataFrame) -> Iterator[Any]:
        return self._kind.items(valid)

    def units(self, rows: Iterable[Any], *, group_size: int) -> Iterator[WorkUnit[Any]]:
        return self._kind.units(rows, group_size=group_size)

    async def apply(self, unit: WorkUnit[Any], api: Any, ctx: AttemptContext) -> Sequence[RowResult]:
        return await self._plan(unit, api, ctx)
