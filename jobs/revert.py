"""Undo rows for an update-ticket run, from its journalled outcomes (pure: no I/O).

For every `updated` row: each field it changed is set back to its value before (a field that was
empty is named in `ClearFields`), guarded by `expect.<Field>` = the value the run set, so a ticket
changed since ends `precondition_failed` and is never overwritten. Memos the run added are deleted
by their sequence number (found on the live ticket by the caller: `added_memo_seqs`), memos it
edited get their old text back, memos it deleted are added again (the text; a new number). The
undo rows come in reverse row order, so rows of one ticket are undone last change first.

What cannot be undone is listed with the reason, never dropped: a released relation (no action
relates a child again), an approver the run set on closing (UOM takes `FinishApprovalUserId` only
while the state is closing, D3), an added memo no longer on the ticket, a row that was in flight.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from batch.outcome import Outcome, RowOutcome
from batch.uom.spec import CLOSING_STATES, MEMO_CLASS, MEMO_LIST, MEMO_SEQ, MEMO_TEXT, MemoOp
from batch.uom.ticket import TicketDetail
from jobs.fields import ORIGINAL_ROW
from jobs.ticket_merge import APPROVER, STATE
from jobs.update_ticket import CLEAR, EXPECT


@dataclass(frozen=True)
class NotRevertible:
    """One thing a revert cannot put back, and why."""

    row: int
    ticket_id: str
    what: str
    reason: str


@dataclass
class Undo:
    """The undo job's rows (in the order to apply them) and what cannot be undone."""

    rows: list[dict[str, str]] = field(default_factory=list)
    not_revertible: list[NotRevertible] = field(default_factory=list)


def adds_memos(o: RowOutcome) -> bool:
    """Whether an updated row added memos (their numbers must then be read from the ticket)."""
    ops = (o.memos or {}).get("memo_ops", [])
    return o.outcome is Outcome.UPDATED and any(op.get(MEMO_CLASS) == MemoOp.ADD for op in ops)


def added_memo_seqs(memos: Mapping[str, Any], ticket: TicketDetail, taken: set[str]) -> list[str | None]:
    """For each memo the update added, the seq it got on the live ticket (None when it is gone).

    A memo the run added has the added text and a seq the ticket did not have before the send;
    `taken` holds seqs already matched to other rows of the same ticket (updated in place).
    """
    before = set(memos.get("memo_seqs", []))
    found: list[str | None] = []
    for op in memos.get("memo_ops", []):
        if op.get(MEMO_CLASS) != MemoOp.ADD:
            continue
        fresh = [m.seq for m in ticket.memos if m.seq not in before | taken and m.text == op.get(MEMO_TEXT)]
        seq = min(fresh, key=_seq_order, default=None)
        if seq is not None:
            taken.add(seq)
        found.append(seq)
    return found


def undo_run(
    outcomes: Iterable[RowOutcome],
    added: Mapping[int, Sequence[str | None]],
    in_flight: Mapping[int, str] | None = None,
) -> Undo:
    """The undo of a run: `added` maps a row to the seqs of the memos it added (added_memo_seqs)."""
    undo = Undo()
    for o in sorted(outcomes, key=lambda o: o.row, reverse=True):
        if o.outcome is Outcome.RELEASED:
            undo.not_revertible.append(
                NotRevertible(
                    o.row, o.ticket_id, "MasterTicketId", "no API action relates a child to its master again"
                )
            )
        elif o.outcome is Outcome.UPDATED:
            row, skipped = undo_row(o, added.get(o.row, ()))
            undo.not_revertible.extend(skipped)
            if row is not None:
                undo.rows.append(row)
    for number, ticket_id in sorted((in_flight or {}).items()):
        reason = "in flight when the run stopped: resume the run first, then revert it"
        undo.not_revertible.append(NotRevertible(number, ticket_id, "row", reason))
    return undo


def undo_row(o: RowOutcome, added: Sequence[str | None]) -> tuple[dict[str, str] | None, list[NotRevertible]]:
    """The undo row of one updated row (None when nothing of it can be undone), and what cannot."""
    row: dict[str, str] = {ORIGINAL_ROW: str(o.row), "TicketId": o.ticket_id}
    skipped: list[NotRevertible] = []
    cleared: list[str] = []
    for name in (f for f in o.changed_fields if f != MEMO_LIST):
        before, after = o.before.get(name, ""), o.after.get(name, "")
        if name == APPROVER and not _approver_revertible(o, before):
            skipped.append(NotRevertible(o.row, o.ticket_id, name, _APPROVER_REASON))
            continue
        if before:
            row[name] = before
        else:
            cleared.append(name)
        if after:
            row[EXPECT + name] = after  # an empty value cannot be expected: that field is unguarded
    if cleared:
        row[CLEAR] = ";".join(cleared)
    ops, memo_skipped = _memo_undo(o, added)
    skipped += memo_skipped
    if ops:
        row[MEMO_LIST] = orjson.dumps(ops).decode("utf-8")
    changes = set(row) - {ORIGINAL_ROW, "TicketId"} - {k for k in row if k.startswith(EXPECT)}
    return (row if changes else None), skipped


_APPROVER_REASON = (
    "UOM takes FinishApprovalUserId only while the state is closing (D3), so it cannot be put back "
    "on a reopened ticket; it stays as the run set it"
)


def _approver_revertible(o: RowOutcome, before: str) -> bool:
    """An approver goes back only to a value, on a ticket whose state stays closing."""
    state = o.before.get(STATE) if STATE in o.changed_fields else None
    return bool(before) and (state is None or state in CLOSING_STATES)


def _memo_undo(
    o: RowOutcome, added: Sequence[str | None]
) -> tuple[list[dict[str, str]], list[NotRevertible]]:
    memos = o.memos or {}
    old: Mapping[str, str] = memos.get("memos_before", {})
    ops: list[dict[str, str]] = []
    skipped: list[NotRevertible] = []
    seqs = iter(added)
    for op in memos.get("memo_ops", []):
        kind, seq = op.get(MEMO_CLASS), op.get(MEMO_SEQ, "")
        if kind == MemoOp.ADD:
            new_seq = next(seqs, None)
            if new_seq is None:
                skipped.append(
                    NotRevertible(
                        o.row, o.ticket_id, "memo +", "the memo it added is no longer on the ticket"
                    )
                )
            else:
                ops.append({MEMO_SEQ: new_seq, MEMO_CLASS: MemoOp.DELETE.value, MEMO_TEXT: ""})
        elif kind == MemoOp.EDIT:
            ops.append({MEMO_SEQ: seq, MEMO_CLASS: MemoOp.EDIT.value, MEMO_TEXT: old.get(seq, "")})
        else:
            ops.append({MEMO_SEQ: "", MEMO_CLASS: MemoOp.ADD.value, MEMO_TEXT: old.get(seq, "")})
    return ops, skipped


def _seq_order(seq: str) -> tuple[int, str]:
    return (int(seq), "") if seq.isdigit() else (1 << 62, seq)
