"""The emulator's tickets: their stored shape (GetTicketDetail's fields, D1), memos and stamps.

A stored ticket is a dict with exactly the keys GetTicketDetail returns for its kind, in that order:
TicketId, TicketProcessType, MasterTicketId, every UpdateTicket field of the kind (AssignUserId
stored as `AssignUser`, D2; `""` when unset), the 6/8 stamps, and CorrespondProcessList as
[{CorrespondProcessSeq, CorrespondProcess}]. Values are kept exactly as sent (D7).

Stamps come from one source for all tickets: JST seconds from the clock, but always at least one
second after the last stamp handed out (or found in the seed), so no two updates share a stamp.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from batch.uom import spec
from batch.uom.spec import MemoOp, TicketKind

from .clock import Clock

Ticket = dict[str, Any]
JST: Final = timezone(timedelta(hours=9), "JST")  # UOM is a Japanese service; stamps read as JST
STAMP_FORMAT: Final = "%Y%m%d%H%M%S"
UPDATE_TO_DETAIL: Final = {v: k for k, v in spec.DETAIL_TO_UPDATE_RENAMES.items()}
# UpdateTicket keys that say who is asking or what to touch, not what to store.
NOT_STORED: Final = frozenset({"ServiceCode", "MasterID", "TicketId", "TicketProcessType"})


def detail_keys(kind: TicketKind) -> tuple[str, ...]:
    """GetTicketDetail's keys for a ticket kind, in response order (RequestId aside)."""
    stamps = spec.timestamp_fields(kind)
    fields = (
        UPDATE_TO_DETAIL.get(name, name)
        for name in spec.update_fields(kind)
        if name not in NOT_STORED and name not in stamps
    )
    return ("TicketId", "TicketProcessType", "MasterTicketId", *fields, *stamps, spec.MEMO_LIST)


def normalize(raw: Mapping[str, Any]) -> Ticket:
    """A seed ticket in the stored shape: every key of its kind present, missing ones `""`."""
    kind = _seed_kind(raw)
    ticket: Ticket = {key: copy.deepcopy(raw.get(key, "")) for key in detail_keys(kind)}
    ticket[spec.MEMO_LIST] = [
        {spec.MEMO_SEQ: m[spec.MEMO_SEQ], spec.MEMO_TEXT: m.get(spec.MEMO_TEXT, "")}
        for m in raw.get(spec.MEMO_LIST) or []
    ]
    return ticket


def _seed_kind(raw: Mapping[str, Any]) -> TicketKind:
    """The kind of a seed ticket, or a ValueError naming what makes it unusable."""
    try:
        kind = TicketKind(raw["TicketProcessType"])
        memos_ok = all(spec.MEMO_SEQ in m for m in raw.get(spec.MEMO_LIST) or [])
        if isinstance(raw["TicketId"], str) and memos_ok:
            return kind
    except (KeyError, TypeError, ValueError):
        pass
    raise ValueError(
        f"seed ticket {raw.get('TicketId')!r} needs a TicketId, TicketProcessType 1 or 2, "
        "and a CorrespondProcessSeq on every memo"
    )


def kind_of(ticket: Mapping[str, Any]) -> TicketKind:
    """A stored ticket's kind."""
    return TicketKind(ticket["TicketProcessType"])


class StampSource:
    """Strictly increasing `YYYYMMDDhhmmss` stamps (JST), never behind the clock's second."""

    def __init__(self, clock: Clock, tickets: Iterable[Mapping[str, Any]]) -> None:
        self._clock = clock
        self._last = max((_parse(s) for t in tickets for s in _stamps(t)), default=None)

    def next(self) -> str:
        """A stamp later than every stamp before it."""
        now = self._clock.now().astimezone(JST).replace(microsecond=0, tzinfo=None)
        if self._last is not None and now <= self._last:
            now = self._last + timedelta(seconds=1)
        self._last = now
        return now.strftime(STAMP_FORMAT)


def _stamps(ticket: Mapping[str, Any]) -> Iterable[str]:
    return (ticket[n] for n in spec.timestamp_fields(kind_of(ticket)) if ticket.get(n))


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, STAMP_FORMAT)


class TicketStore:
    """All tickets by id, the highest memo seq each ever had, and the stamp source."""

    def __init__(self, tickets: Iterable[Mapping[str, Any]], clock: Clock) -> None:
        self.tickets: dict[str, Ticket] = {}
        for raw in tickets:
            ticket = normalize(raw)
            self.tickets[ticket["TicketId"]] = ticket
        # Seqs are never reused, even after a delete, so remember the highest one handed out.
        self._memo_high = {tid: _highest_seq(t) for tid, t in self.tickets.items()}
        self.stamps = StampSource(clock, self.tickets.values())

    def memo_seqs(self, ticket_id: str) -> set[str]:
        """The seqs of a ticket's current memos."""
        return {m[spec.MEMO_SEQ] for m in self.tickets[ticket_id][spec.MEMO_LIST]}

    def apply_update(self, body: Mapping[str, Any]) -> None:
        """Store an accepted UpdateTicket: fields as sent, memo operations, fresh stamps."""
        ticket = self.tickets[body["TicketId"]]
        self._memo_high[ticket["TicketId"]] = self._high(ticket["TicketId"])  # before any delete
        stamps = spec.timestamp_fields(kind_of(ticket))
        for name, value in body.items():
            if name not in NOT_STORED and name not in stamps and name != spec.MEMO_LIST:
                ticket[UPDATE_TO_DETAIL.get(name, name)] = value
        for op in body.get(spec.MEMO_LIST) or []:
            self._apply_memo(ticket, op)
        self._touch(ticket)

    def add_memo(self, ticket_id: str, text: str) -> str:
        """Append a memo with the next seq; returns the seq."""
        self._memo_high[ticket_id] = self._high(ticket_id) + 1
        seq = str(self._memo_high[ticket_id])
        self.tickets[ticket_id][spec.MEMO_LIST].append({spec.MEMO_SEQ: seq, spec.MEMO_TEXT: text})
        return seq

    def other_operator_edit(self, ticket_id: str, operator: str) -> None:
        """What another operator's save does: a memo of theirs and fresh stamps."""
        self.add_memo(ticket_id, f"{operator} が対応状況を更新しました。")
        self._touch(self.tickets[ticket_id])

    def release(self, child_ids: Iterable[str]) -> None:
        """Detach children from their master (D6); relations carry no stamps, so none change."""
        for child in child_ids:
            self.tickets[child]["MasterTicketId"] = ""

    def _high(self, ticket_id: str) -> int:
        """The highest seq handed out, counting memos a test may have put in `tickets` directly."""
        return max(self._memo_high.get(ticket_id, 0), _highest_seq(self.tickets[ticket_id]))

    def _apply_memo(self, ticket: Ticket, op: Mapping[str, str]) -> None:
        kind = MemoOp(op[spec.MEMO_CLASS])
        if kind is MemoOp.ADD:
            self.add_memo(ticket["TicketId"], op[spec.MEMO_TEXT])
            return
        memos: list[dict[str, str]] = ticket[spec.MEMO_LIST]
        index = next(i for i, m in enumerate(memos) if m[spec.MEMO_SEQ] == op[spec.MEMO_SEQ])
        if kind is MemoOp.DELETE:
            del memos[index]
        else:
            memos[index][spec.MEMO_TEXT] = op[spec.MEMO_TEXT]

    def _touch(self, ticket: Ticket) -> None:
        """Every update stamp moves on; an insert stamp still `""` is set now."""
        stamp = self.stamps.next()
        for name in spec.timestamp_fields(kind_of(ticket)):
            if name.endswith("UpdateDate") or ticket[name] == "":
                ticket[name] = stamp


def _highest_seq(ticket: Mapping[str, Any]) -> int:
    seqs = (m[spec.MEMO_SEQ] for m in ticket[spec.MEMO_LIST])
    return max((int(s) for s in seqs if s.isdigit()), default=0)
