"""A ticket as GetTicketDetail returns it (D1), read strictly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from batch.uom.errors import ProtocolError
from batch.uom.spec import (
    DETAIL_REQUIRED_KEYS,
    MEMO_LIST,
    MEMO_SEQ,
    MEMO_TEXT,
    TicketKind,
    timestamp_fields,
)


@dataclass(frozen=True, slots=True)
class Memo:
    """One work memo (対応メモ) and its sequence number."""

    seq: str
    text: str


@dataclass(frozen=True)
class TicketDetail:
    """The fields of one ticket, with its concurrency timestamps and memos."""

    ticket_id: str
    kind: TicketKind
    request_id: str
    fields: Mapping[str, Any]  # the reply's fields under GetTicketDetail's names (strings, and the memo list)
    memos: tuple[Memo, ...] = ()
    master_ticket_id: str = ""
    timestamps: Mapping[str, str] = field(default_factory=dict)

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
            ticket_id=response["TicketId"],
            kind=kind,
            request_id=response["RequestId"],
            fields=response,  # not copied: read-only from here on, and a copy costs per row
            memos=_memos(response.get(MEMO_LIST, [])),
            master_ticket_id=response.get("MasterTicketId", ""),
            timestamps={k: response[k] for k in stamps},
        )


# Looked up per reply: cheaper than calling the enum and the spec's function each time.
_KINDS = {kind.value: kind for kind in TicketKind}
_STAMPS = {kind: timestamp_fields(kind) for kind in TicketKind}


def _require(response: Mapping[str, Any], keys: tuple[str, ...]) -> None:
    missing = [k for k in keys if not isinstance(response.get(k), str)]
    if missing:
        raise _malformed("missing " + ", ".join(missing))


def _memos(items: Any) -> tuple[Memo, ...]:
    if not isinstance(items, list):
        raise _malformed(f"{MEMO_LIST} is not a list")
    memos = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get(MEMO_SEQ), str):
            raise _malformed(f"{MEMO_LIST} item without {MEMO_SEQ}")
        memos.append(Memo(seq=item[MEMO_SEQ], text=str(item.get(MEMO_TEXT, ""))))
    return tuple(memos)


def _malformed(what: str) -> ProtocolError:
    return ProtocolError(
        f"GetTicketDetail: malformed reply: {what}", action="GetTicketDetail", http_status=200
    )
