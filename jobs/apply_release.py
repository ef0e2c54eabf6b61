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
    unit: WorkUnit[ReleaseRow], api: ReleaseApi, ctx: AttemptContext, *, planned: bool = False
) -> Sequence[RowResult]:
    """Decide each row from its child's live relation, then release the ones still related.

    `planned` (run --plan): the children were read when the plan was made, so the first attempt
    sends at once; only a child refused on its own is read again, to tell released-since-the-plan
    (unchanged) from related elsewhere (failed). After a lost reply every child is read again.
    """
    master = unit.key
    sent_before = set(ctx.intent["children"]) if ctx.intent else set()
    trust_plan = planned and ctx.intent is None
    results: dict[int, RowResult] = {}
    to_send: dict[str, list[int]] = {}
    for row in unit.rows:
        if row.child_id in to_send:
            results[row.row] = _row(row.row, row.child_id, Outcome.UNCHANGED)  # a repeat
            continue
        decided = None if trust_plan else await decide_child(row, master, api, sent_before)
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
        refused = partial(_reread_refused, api, master) if planned else None
        await _release(master, list(to_send), to_send, send, results, refused)
    return [results[r.row] for r in unit.rows]


async def decide_child(
    row: ReleaseRow, master: str, api: ReleaseApi, sent_before: set[str]
) -> RowResult | None:
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
    return _other_master(row.row, row.child_id, master, child.master_ticket_id, child.request_id)


def _other_master(row: int, child: str, master: str, real: str, request_id: str | None) -> RowResult:
    message = f"{child} is related to {real}, not to {master}; not sent"
    return _row(
        row,
        child,
        Outcome.FAILED,
        request_id=request_id,
        error_message=message,
        error_type="RELATED_TO_OTHER_MASTER",
    )


Reread = Callable[[int, str, Refused], Awaitable[RowResult]]


async def _release(
    master: str,
    children: list[str],
    rows: Mapping[str, list[int]],
    send: Callable[[str, list[str]], Awaitable[str]],
    results: dict[int, RowResult],
    reread: Reread | None = None,
) -> None:
    """Send `children`; when refused, bisect until each refused child stands alone."""
    try:
        request_id = await send(master, children)
    except Refused as exc:
        if len(children) == 1:
            for r in rows[children[0]]:
                results[r] = await reread(r, children[0], exc) if reread else _error(r, children[0], exc)
            return
        half = len(children) // 2
        await _release(master, children[:half], rows, send, results, reread)
        await _release(master, children[half:], rows, send, results, reread)
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


async def _reread_refused(api: ReleaseApi, master: str, row: int, child: str, exc: Refused) -> RowResult:
    """A planned child refused on its own: read it to say why (released since, or elsewhere)."""
    try:
        live = await api.get_ticket_detail(child)
    except NoTicket as gone:
        return _error(row, child, gone)
    if not live.master_ticket_id:
        return _row(row, child, Outcome.UNCHANGED, request_id=live.request_id)
    if live.master_ticket_id != master:
        return _other_master(row, child, master, live.master_ticket_id, live.request_id)
    return _error(row, child, exc)


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
