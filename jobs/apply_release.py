"""One attempt at a release-relation group: the children of one master, released in one call.

Each child is fetched first: one already released (or repeated in the file) is `unchanged`; one
related to another master is `failed` and never sent (the file is wrong there). The rest go in one
ReleaseIncidentRelate call. If the API refuses the group, it is split in halves until each refused
child stands alone, so every row gets its own true outcome. After a lost reply the children are
refetched instead of resent (a resend of a release that landed is refused under D6).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any, Protocol

from batch.kind import AttemptContext, RowResult, WorkUnit
from batch.outcome import Outcome
from batch.uom.errors import NoTicket, Refused
from batch.uom.ticket import TicketDetail
from jobs.release_relation import ReleaseRow


class ReleaseApi(Protocol):
    """The part of the UOM client a release needs."""

    async def get_ticket_detail(self, ticket_id: str) -> TicketDetail: ...
    async def release_incident_relate(
        self,
        master_incident_id: str,
        incident_ids: Sequence[str],
        *,
        service_code: str | None = None,
        master_id: str | None = None,
    ) -> str: ...


def release_units(rows: Iterable[ReleaseRow], max_children: int) -> Iterator[WorkUnit[ReleaseRow]]:
    """Group rows by master (and the account they act as), in file order, at most `max_children` per unit.

    The unit's key is the master alone, so that groups of one master never run at the same time.
    """
    groups: dict[tuple[str, str | None, str | None], list[ReleaseRow]] = {}
    for row in rows:
        account = (row.master_id, row.service_code, row.master_id_account)
        group = groups.setdefault(account, [])
        group.append(row)
        if len(group) >= max_children:
            yield WorkUnit(key=row.master_id, rows=tuple(groups.pop(account)))
    for (master, _, _), group in groups.items():
        yield WorkUnit(key=master, rows=tuple(group))


async def apply_release(
    unit: WorkUnit[ReleaseRow], api: ReleaseApi, ctx: AttemptContext
) -> Sequence[RowResult]:
    """Decide each row from its child's live relation, then release the ones still related."""
    master = unit.key
    sent_before = set(ctx.intent["children"]) if ctx.intent else set()
    results: dict[int, RowResult] = {}
    to_send: dict[str, list[int]] = {}
    for row in unit.rows:
        if row.child_id in to_send:
            results[row.row] = _row(row.row, row.child_id, Outcome.UNCHANGED)  # a repeat
            continue
        decided = await _decide(row, master, api, sent_before)
        if decided is None:
            to_send[row.child_id] = [row.row]
        else:
            results[row.row] = decided
    if to_send:
        await ctx.note_intent({"master": master, "children": sorted(to_send)})
        account = unit.rows[0]  # a unit's rows share the account they act as (release_units)
        send = partial(
            api.release_incident_relate,
            service_code=account.service_code,
            master_id=account.master_id_account,
        )
        await _release(master, list(to_send), to_send, send, results)
    return [results[r.row] for r in unit.rows]


async def _decide(row: Any, master: str, api: ReleaseApi, sent_before: set[str]) -> RowResult | None:
    """The row's outcome if its child's live state settles it; None when it is to be sent."""
    try:
        child = await api.get_ticket_detail(row.child_id)
    except NoTicket as exc:
        return _error(row.row, row.child_id, exc)
    if child.master_ticket_id == master:
        return None
    if not child.master_ticket_id:
        landed = row.child_id in sent_before
        outcome = Outcome.RELEASED if landed else Outcome.UNCHANGED
        return _row(row.row, row.child_id, outcome, request_id=child.request_id)
    message = f"{row.child_id} is related to {child.master_ticket_id}, not to {master}; not sent"
    return _row(
        row.row,
        row.child_id,
        Outcome.FAILED,
        request_id=child.request_id,
        error_message=message,
        error_type="RELATED_TO_OTHER_MASTER",
    )


async def _release(
    master: str,
    children: list[str],
    rows: Mapping[str, list[int]],
    send: Callable[[str, list[str]], Awaitable[str]],
    results: dict[int, RowResult],
) -> None:
    """Send `children`; when refused, bisect until each refused child stands alone."""
    try:
        request_id = await send(master, children)
    except Refused as exc:
        if len(children) == 1:
            for r in rows[children[0]]:
                results[r] = _error(r, children[0], exc)
            return
        half = len(children) // 2
        await _release(master, children[:half], rows, send, results)
        await _release(master, children[half:], rows, send, results)
        return
    for child in children:
        for r in rows[child]:
            results[r] = _row(
                r,
                child,
                Outcome.RELEASED,
                request_id=request_id,
                changed_fields=("MasterTicketId",),
                before={"MasterTicketId": master},
                after={"MasterTicketId": ""},
            )


def _error(row: int, child: str, exc: Refused) -> RowResult:
    return _row(
        row,
        child,
        Outcome.FAILED,
        request_id=exc.request_id,
        error_type=exc.error_type,
        error_message=exc.error_message or str(exc),
    )


def _row(row: int, child: str, outcome: Outcome, **extra: Any) -> RowResult:
    return RowResult(row=row, ticket_id=child, outcome=outcome, **extra)
