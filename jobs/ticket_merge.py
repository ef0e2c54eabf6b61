"""Pure read-modify-write logic for UpdateTicket: merge a row into a fetched ticket, and diff.

No I/O here. `merge` turns (fetched ticket, desired changes) into the full UpdateTicket request
that the ticket's kind needs; `unmet_expectations` checks `expect.<Field>` preconditions;
`has_landed` decides, after a lost reply, whether the change is already on the ticket.
A memo edit to the text the memo already has, or a delete of a memo that is gone, already holds:
`merge` leaves it out of the request, so a re-run sends nothing for it (an add always goes).
Plans and reconciliation reuse `desired_state`/`diff` to compare a desired state with a live one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from batch.errors import RowInvalid
from batch.uom.spec import (
    CLOSED,
    CLOSING_STATES,
    DETAIL_TO_UPDATE_RENAMES,
    MEMO_CLASS,
    MEMO_LIST,
    MEMO_SEQ,
    MEMO_TEXT,
    MemoOp,
    TicketKind,
    timestamp_fields,
    update_fields,
)
from batch.uom.ticket import Memo, TicketDetail

IDENTITY = frozenset({"ServiceCode", "MasterID", "TicketId", "TicketProcessType"})
APPROVER = "FinishApprovalUserId"
GROUP = "SupportedGroup"
STATE = "StateCode"


class Changes(Protocol):
    """What a row asks of one ticket (jobs.update_ticket.UpdateRow satisfies this)."""

    @property
    def changes(self) -> Mapping[str, str]: ...
    @property
    def clear(self) -> Sequence[str]: ...
    @property
    def memo_ops(self) -> Sequence[Mapping[str, str]]: ...


class MergedUpdate(NamedTuple):
    """The UpdateTicket request for one row, and what it changes (a NamedTuple: one per row)."""

    body: dict[str, Any]
    changed: tuple[str, ...]
    before: dict[str, str]
    after: dict[str, str]
    memo_ops: tuple[dict[str, str], ...] = ()  # the operations sent: those not already satisfied

    @property
    def unchanged(self) -> bool:
        """Nothing to send: every field the row sets already holds, and so does every memo operation."""
        return not self.changed and not self.memo_ops


# The fields a ticket's state is compared on: its kind's table less identity and stamps.
_STATE_FIELDS = {
    kind: frozenset(update_fields(kind)) - IDENTITY - frozenset(timestamp_fields(kind)) for kind in TicketKind
}

# The kind's required fields other than identity and stamps: sent as the ticket has them.
_REQUIRED_FIELDS = {
    kind: tuple(
        name
        for name, spec in update_fields(kind).items()
        if spec.required and name not in IDENTITY and name not in timestamp_fields(kind)
    )
    for kind in TicketKind
}


def current_state(ticket: TicketDetail) -> dict[str, str]:
    """The ticket's values under UpdateTicket's names (D2 renames), without identity or stamps."""
    wanted = _STATE_FIELDS[ticket.kind]
    fields = ticket.fields
    state = {k: v for k, v in fields.items() if k in wanted}
    for detail_name, update_name in DETAIL_TO_UPDATE_RENAMES.items():
        if detail_name in fields and update_name in wanted:
            state[update_name] = fields[detail_name]
    return state


def desired_state(current: Mapping[str, str], row: Changes) -> dict[str, str]:
    """The ticket as the row wants it: current values, the row's values, cleared fields empty."""
    return {**current, **row.changes, **dict.fromkeys(row.clear, "")}


def diff(current: Mapping[str, str], desired: Mapping[str, str], fields: Sequence[str]) -> tuple[str, ...]:
    """The fields among `fields` whose desired value differs from the current one (exact strings)."""
    return tuple(f for f in fields if desired.get(f, "") != current.get(f, ""))


def merge(ticket: TicketDetail, row: Changes) -> MergedUpdate:
    """The full UpdateTicket request for `row` applied to `ticket`; RowInvalid if none can be."""
    _check_fields_fit(ticket.kind, row)
    current = current_state(ticket)
    desired = desired_state(current, row)
    set_fields = [*row.changes, *row.clear]
    changed = diff(current, desired, set_fields)
    body = _base_body(ticket, desired)
    body.update({f: desired[f] for f in set_fields if f != APPROVER})
    _apply_approver_rule(body, desired, row)
    ops = memo_ops_to_send(ticket, row.memo_ops)
    if ops or ticket.kind is TicketKind.INCIDENT:
        body[MEMO_LIST] = list(ops)  # D4: incidents always carry the list, [] when no memo changes
    return MergedUpdate(
        body, changed, {f: current.get(f, "") for f in changed}, {f: desired[f] for f in changed}, ops
    )


def memo_ops_to_send(ticket: TicketDetail, ops: Sequence[Mapping[str, str]]) -> tuple[dict[str, str], ...]:
    """The row's memo operations that the ticket does not already satisfy, under the ticket's seqs.

    RowInvalid for an edit of a memo the ticket does not have (nothing can make it hold) and for
    two operations on one memo (the API refuses that request).
    """
    if not ops:
        return ()  # most rows: no memo look-up at all
    memos = {_seq_key(m.seq): m for m in ticket.memos}
    _check_memo_targets(ops, memos)
    sent = (_unsatisfied(op, memos) for op in ops)
    return tuple(op for op in sent if op is not None)


def _unsatisfied(op: Mapping[str, str], memos: Mapping[str, Memo]) -> dict[str, str] | None:
    """`op` as it is to be sent, or None when it already holds on `memos`."""
    if op.get(MEMO_CLASS) == MemoOp.ADD:
        return dict(op)  # an add always makes a new memo
    memo = memos.get(_seq_key(op.get(MEMO_SEQ, "")))
    if memo is None:
        return None  # a delete of a memo that is gone (an edit of one is refused before)
    if op.get(MEMO_CLASS) == MemoOp.EDIT and memo.text == op.get(MEMO_TEXT, ""):
        return None
    return {**op, MEMO_SEQ: memo.seq}  # the ticket's own spelling of the seq


def _seq_key(seq: str) -> str:
    """A memo seq as a number without leading zeros (`01` names memo 1), else as given."""
    return str(int(seq)) if seq.isascii() and seq.isdigit() else seq


def _check_memo_targets(ops: Sequence[Mapping[str, str]], memos: Mapping[str, Memo]) -> None:
    """Each memo is edited or deleted at most once, and an edited memo exists."""
    seen: set[str] = set()
    for op in ops:
        kind, seq = op.get(MEMO_CLASS), op.get(MEMO_SEQ, "")
        if kind == MemoOp.ADD:
            continue
        if _seq_key(seq) in seen:
            raise RowInvalid(f"{MEMO_SEQ} {seq}: a row may edit or delete one memo only once")
        seen.add(_seq_key(seq))
        if kind == MemoOp.EDIT and _seq_key(seq) not in memos:
            raise RowInvalid(
                f"{MEMO_SEQ} {seq}: the ticket has no memo {seq} to edit (deleted, or never there); "
                f"{_memo_seqs_said(memos)}"
            )


def _memo_seqs_said(memos: Mapping[str, Memo], shown: int = 10) -> str:
    seqs = [m.seq for m in memos.values()]
    if not seqs:
        return "it has no memos"
    more = f" and {len(seqs) - shown} more" if len(seqs) > shown else ""
    return f"its memos are {', '.join(seqs[:shown])}{more}"


def _check_fields_fit(kind: TicketKind, row: Changes) -> None:
    """Refuse fields the ticket's kind does not take (e.g. Importance on a request)."""
    table = update_fields(kind)
    wrong = [f for f in row.changes if f not in table or f in IDENTITY]
    if row.clear:
        wrong += [f for f in row.clear if f not in table or f in IDENTITY]
    if wrong:
        what = "incident" if kind is TicketKind.INCIDENT else "request"
        raise RowInvalid(f"the ticket is an {what} ticket, which does not take {', '.join(wrong)}")


def _base_body(ticket: TicketDetail, desired: Mapping[str, str]) -> dict[str, Any]:
    """Identity, the concurrency stamps verbatim, and the kind's required fields as they stand."""
    body: dict[str, Any] = {"TicketId": ticket.ticket_id, "TicketProcessType": ticket.kind.value}
    body.update(ticket.timestamps)
    for name in _REQUIRED_FIELDS[ticket.kind]:
        body[name] = desired.get(name, "")
    if desired.get(STATE):
        body[STATE] = desired[STATE]
    if desired.get(GROUP):
        body[GROUP] = desired[GROUP]  # required unless closed; the ticket's own value carries over
    return body


def _apply_approver_rule(body: dict[str, Any], desired: Mapping[str, str], row: Changes) -> None:
    """D3: the approver is sent iff the state the update leaves is closing, and then required."""
    closing = desired.get(STATE, "") in CLOSING_STATES
    approver = desired.get(APPROVER, "")
    if closing and approver:
        body[APPROVER] = approver
    elif closing:
        raise RowInvalid(
            f"{STATE} {desired.get(STATE)} needs {APPROVER}, and neither the row nor the ticket has one"
        )
    elif APPROVER in row.changes:
        raise RowInvalid(
            f"{APPROVER} may be given only when {STATE} becomes {CLOSED} or クローズ承認待ち "
            f"(the ticket stays {desired.get(STATE) or 'without a state'})"
        )


def unmet_expectations(ticket: TicketDetail, expect: Mapping[str, str]) -> dict[str, str]:
    """The `expect.<Field>` preconditions the live ticket breaks: field → its live value."""
    if not expect:
        return {}
    live = {DETAIL_TO_UPDATE_RENAMES.get(k, k): v for k, v in ticket.fields.items()}
    return {f: live.get(f, "") for f, want in expect.items() if live.get(f, "") != want}


def intent_for(ticket: TicketDetail, merged: MergedUpdate) -> dict[str, Any]:
    """What to note in the journal before sending, so a lost reply can be checked later."""
    targets = _targets(merged.memo_ops) if merged.memo_ops else ()
    return {
        "ticket_id": ticket.ticket_id,
        "stamps": dict(ticket.timestamps),
        "after": merged.after,
        "before": merged.before,
        "memo_seqs": [m.seq for m in ticket.memos],
        "memo_ops": list(merged.memo_ops),
        # The texts of the memos it edits or deletes, as they were: what a diff shows as "before"
        # and what puts them back.
        "memos_before": {m.seq: m.text for m in ticket.memos if m.seq in targets} if targets else {},
    }


def memo_record(intent: Mapping[str, Any]) -> dict[str, Any] | None:
    """What an update did to memos, kept with its outcome for a revert (None when it did nothing)."""
    if not intent.get("memo_ops"):
        return None
    return {k: intent[k] for k in ("memo_ops", "memos_before", "memo_seqs") if k in intent}


def _targets(ops: Sequence[Mapping[str, str]]) -> set[str]:
    return {op.get(MEMO_SEQ, "") for op in ops if op.get(MEMO_CLASS) != MemoOp.ADD}


def has_landed(intent: Mapping[str, Any], ticket: TicketDetail) -> bool:
    """Whether the update noted in `intent` is on the refetched ticket (so never send it twice)."""
    if dict(ticket.timestamps) == intent["stamps"]:
        return False  # nothing at all has been written since we read it
    added = [op.get(MEMO_TEXT, "") for op in intent["memo_ops"] if op.get(MEMO_CLASS) == MemoOp.ADD]
    if added:
        # An update lands whole, so the memos it added prove it landed, even when a later write
        # (the file's next row for this ticket, another operator) has changed its fields since.
        new_texts = _new_memo_texts(intent, ticket)
        return all(text in new_texts for text in added)
    current = current_state(ticket)
    if any(current.get(f, "") != v for f, v in intent["after"].items()):
        return False
    return _memos_landed(intent, ticket)


def _new_memo_texts(intent: Mapping[str, Any], ticket: TicketDetail) -> list[str]:
    """Texts of the memos whose seq the ticket did not have when the intent was noted."""
    known = set(intent["memo_seqs"])
    return [m.text for m in ticket.memos if m.seq not in known]


def _memos_landed(intent: Mapping[str, Any], ticket: TicketDetail) -> bool:
    memos = {m.seq: m.text for m in ticket.memos}
    new_texts = _new_memo_texts(intent, ticket)
    for op in intent["memo_ops"]:
        kind, seq, text = op.get(MEMO_CLASS), op.get(MEMO_SEQ, ""), op.get(MEMO_TEXT, "")
        if kind == MemoOp.ADD and text not in new_texts:
            return False
        if kind == MemoOp.EDIT and memos.get(seq) != text:
            return False
        if kind == MemoOp.DELETE and seq in memos:
            return False
    return True
