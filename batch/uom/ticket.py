"""A ticket as GetTicketDetail returns it (D1), read strictly.

Both types are NamedTuples: immutable values that cost one tuple to build (a frozen dataclass
sets each field through `object.__setattr__`, and one ticket is read per row).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from batch.uom.errors import ProtocolError
from batch.uom.spec import (
    DETAIL_REQUIRED_KEYS,
    MEMO_LIST,
    MEMO_SEQ,
    MEMO_TEXT,
    TicketKind,
    timestamp_fields,
)


class Memo(NamedTuple):
    """One work memo (対応メモ) and its sequence number."""

    seq: str
    text: str


class TicketDetail(NamedTuple):
    """The fields of one ticket, with its concurrency timestamps and memos."""

    ticket_id: str
    kind: TicketKind
    request_id: str
    fields: Mapping[str, Any]  # the reply's fields under GetTicketDetail's names (strings, and the memo list)
    memos: tuple[Memo, ...] = ()
    master_ticket_id: str = ""
    timestamps: Mapping[str, str] = MappingProxyType({})

    @classmethod
    def from_response(cls, response: Mapping[str, Any]) -> TicketDetail:
        """Read a GetTicketDetailResponse; ProtocolError when a key D1 requires is missing."""
        _require(response, DETAIL_REQUIRED_KEYS)
        kind = _KINDS.get(response["TicketProcessType"])
        if kind is None:
            raise _malformed(f"TicketProcessType {response['TicketProcessType']!r}")
        stamps = _STAMPS[kind]
        _require(response, stamps)
        return cls(
            response["TicketId"],
            kind,
            response["RequestId"],
            response,  # not copied: read-only from here on, and a copy costs per row
            _memos(response.get(MEMO_LIST, [])),
            response.get("MasterTicketId", ""),
            {k: response[k] for k in stamps},
        )


_memo = Memo._make  # tuple.__new__ itself: no Python-level __new__ per memo
# Looked up per reply: cheaper than calling the enum and the spec's function each time.
_KINDS = {kind.value: kind for kind in TicketKind}
_STAMPS = {kind: timestamp_fields(kind) for kind in TicketKind}


def _require(response: Mapping[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:  # a loop, not all(<generator>): this runs for a dozen keys per reply
        if not isinstance(response.get(key), str):
            raise _malformed("missing " + ", ".join(k for k in keys if not isinstance(response.get(k), str)))


def _memos(items: Any) -> tuple[Memo, ...]:
    if not isinstance(items, list):
        raise _malformed(f"{MEMO_LIST} is not a list")
    memos = []
    for item in items:
        seq = item.get(MEMO_SEQ) if isinstance(item, dict) else None
        if not isinstance(seq, str):
            raise _malformed(f"{MEMO_LIST} item without {MEMO_SEQ}")
        text = item.get(MEMO_TEXT, "")
        memos.append(_memo((seq, text if isinstance(text, str) else str(text))))
    return tuple(memos)


def _malformed(what: str) -> ProtocolError:
    return ProtocolError(
        f"GetTicketDetail: malformed reply: {what}", action="GetTicketDetail", http_status=200
    )
