"""One attempt at an update-ticket row: fetch, check, merge, send (read-modify-write).

The order of the checks on the fetched ticket: after a send whose reply was lost (`ctx.intent`),
has that change landed (then `updated`: a memo is never added twice)? Does the ticket already
hold what the row asks (`unchanged`, whatever the preconditions say: nothing would be sent)? Do
the `expect.<Field>` preconditions hold (else `precondition_failed`)? Is the merged request valid
under the job file's own rules (else `invalid`)? Only then is the update sent.

A memo edit or delete the ticket already satisfies is not sent (see `ticket_merge`). If the server
refuses a memo seq and a refetch shows that memo gone since the fetch, the refusal is a conflict:
the next attempt merges again, and finds a delete satisfied or an edit impossible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from batch.errors import RowInvalid
from batch.kind import AttemptContext, RowResult, WorkUnit
from batch.outcome import Outcome
from batch.uom.errors import Conflict, Refused
from batch.uom.spec import MEMO_CLASS, MEMO_SEQ, ErrorType, MemoOp
from batch.uom.ticket import TicketDetail
from jobs.ticket_merge import MergedUpdate, has_landed, intent_for, memo_record, merge, unmet_expectations
from jobs.update_ticket import UpdateRow, check_update


class TicketApi(Protocol):
    """The part of the UOM client an update needs."""

    async def get_ticket_detail(self, ticket_id: str) -> TicketDetail: ...
    async def update_ticket(self, fields: Mapping[str, Any]) -> str: ...


async def apply_update(unit: WorkUnit[UpdateRow], api: TicketApi, ctx: AttemptContext) -> Sequence[RowResult]:
    """Apply the unit's one row to its ticket; the result is a value, errors are exceptions."""
    (row,) = unit.rows
    ticket = await api.get_ticket_detail(row.ticket_id)
    if ctx.intent is not None and has_landed(ctx.intent, ticket):
        return [landed(row.row, ticket, ctx.intent)]
    decided = decide_update(row, ticket)
    if isinstance(decided, RowResult):
        return [decided]
    intent = intent_for(ticket, decided)
    await ctx.note_intent(intent)
    try:
        request_id = await api.update_ticket(request_for(decided, row))
    except Refused as exc:
        if blames_memo_seq(exc) and await _memo_gone(api, ticket.ticket_id, decided):
            raise _as_conflict(exc) from exc
        raise
    return [_updated(row.row, ticket.ticket_id, request_id, decided, intent)]


def decide_update(row: UpdateRow, ticket: TicketDetail) -> RowResult | MergedUpdate:
    """What `row` does to the fetched ticket: a final result, or the update to send (pure).

    `run` sends what this returns and `plan` records it: one set of rules for both.
    """
    try:
        merged, invalid = _checked_merge(ticket, row), None
    except RowInvalid as exc:
        merged, invalid = None, exc
    if merged is not None and merged.unchanged:
        return _result(row.row, ticket, Outcome.UNCHANGED)  # nothing to do, whatever expect says
    unmet = unmet_expectations(ticket, row.expect)
    if unmet:
        return _precondition_failed(row.row, ticket, row.expect, unmet)
    if merged is None:
        return _result(
            row.row, ticket, Outcome.INVALID, error_type="PARAMETER_ERROR", error_message=str(invalid)
        )
    return merged


def _checked_merge(ticket: TicketDetail, row: UpdateRow) -> MergedUpdate:
    """Merge, then check the request that would be sent with the job file's own rule objects."""
    if row.ticket_kind and row.ticket_kind != ticket.kind.value:
        raise RowInvalid(
            f"TicketProcessType {row.ticket_kind} given, but the ticket's is {ticket.kind.value}"
        )
    merged = merge(ticket, row)
    # The fetched ticket's own values are the server's; what can break is what the row changes
    # (its values passed the job file's own rules alone, not beside the ticket's) and clears, and
    # the rules across fields (approver, support group) that depend on the ticket's state.
    problems = check_update(merged.body, row.row, only=row.clear, validated=row.changes)
    if problems:
        raise RowInvalid("; ".join(f"{p.column}: {p.message} [{p.rule}]" for p in problems))
    return merged


def blames_memo_seq(exc: Refused) -> bool:
    """A PARAMETER_ERROR whose ErrorDetail names CorrespondProcessSeq."""
    detail = exc.error_detail
    return exc.error_type == ErrorType.PARAMETER_ERROR and isinstance(detail, Mapping) and MEMO_SEQ in detail


async def _memo_gone(api: TicketApi, ticket_id: str, merged: MergedUpdate) -> bool:
    """Whether a memo the request edits or deletes (all on the fetched ticket) is gone now."""
    targets = {op[MEMO_SEQ] for op in merged.memo_ops if op.get(MEMO_CLASS) != MemoOp.ADD}
    if not targets:
        return False
    refetched = await api.get_ticket_detail(ticket_id)
    return not targets <= {m.seq for m in refetched.memos}


def _as_conflict(exc: Refused) -> Conflict:
    """The refusal as the conflict it is, keeping what the server said for the ledger."""
    return Conflict(
        "UpdateTicket: a memo changed since the fetch",
        action=exc.action,
        error_type=exc.error_type,
        error_message=exc.error_message,
        error_detail=exc.error_detail,
        request_id=exc.request_id,
        http_status=exc.http_status,
    )


def request_for(merged: MergedUpdate, row: UpdateRow) -> dict[str, Any]:
    """The request to send: the merge, with the row's own ServiceCode / MasterID over the configured ones."""
    if not (row.service_code or row.master_id):
        return merged.body  # most rows: the configured ones (sent as is, never changed after)
    body = dict(merged.body)
    if row.service_code:
        body["ServiceCode"] = row.service_code
    if row.master_id:
        body["MasterID"] = row.master_id
    return body


def _updated(
    row: int, ticket_id: str, request_id: str, merged: MergedUpdate, intent: Mapping[str, Any]
) -> RowResult:
    return changed_result(
        row, ticket_id, Outcome.UPDATED, merged, request_id=request_id, memos=memo_record(intent)
    )


def changed_result(
    row: int, ticket_id: str, outcome: Outcome, merged: MergedUpdate, **extra: Any
) -> RowResult:
    """A result that names what the update changes: fields before and after, and the memo list."""
    memo_fields = ("CorrespondProcessList",) if merged.memo_ops else ()
    return RowResult(
        row=row,
        ticket_id=ticket_id,
        outcome=outcome,
        changed_fields=merged.changed + memo_fields,
        before=merged.before,
        after=merged.after,
        **extra,
    )


def landed(row: int, ticket: TicketDetail, intent: Mapping[str, Any]) -> RowResult:
    """The earlier send landed: report it as updated, with the refetch's RequestId as evidence."""
    memo_fields = ("CorrespondProcessList",) if intent["memo_ops"] else ()
    return RowResult(
        row=row,
        ticket_id=ticket.ticket_id,
        outcome=Outcome.UPDATED,
        request_id=ticket.request_id,
        changed_fields=tuple(intent["after"]) + memo_fields,
        before=dict(intent["before"]),
        after=dict(intent["after"]),
        memos=memo_record(intent),
    )


def _precondition_failed(
    row: int, ticket: TicketDetail, expect: Mapping[str, str], unmet: Mapping[str, str]
) -> RowResult:
    said = "; ".join(f"expected {f}={expect[f]!r}, live {f}={live!r}" for f, live in unmet.items())
    return _result(row, ticket, Outcome.PRECONDITION_FAILED, error_message=said)


def _result(row: int, ticket: TicketDetail, outcome: Outcome, **extra: Any) -> RowResult:
    return RowResult(
        row=row, ticket_id=ticket.ticket_id, outcome=outcome, request_id=ticket.request_id, **extra
    )
