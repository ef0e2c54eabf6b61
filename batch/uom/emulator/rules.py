"""The shape of a request body, per action: the first rule it breaks, or None. No state here.

Checks run kind by kind, and within a kind in the parameter table's order; the first failure wins:

1. unknown keys, in the body's order        → PARAMETER_ERROR 指定できないパラメータが含まれています。
2. required keys that are missing            → PARAMETER_REQUIRED
3. a value that is not a string              → PARAMETER_ERROR 入力パラメータが正しく指定されていません。
4. "" for a required field (stamps exempt)   → PARAMETER_ERROR 空欄にできない項目が空文字で指定されています。
5. too long: code points, or UTF-8 bytes for the `65535Byte` fields (D8) → PARAMETER_TOO_LONG
6. outside a choice list, not a real `YYYYMMDDhhmmss`, not `SA`/`UTM`/`uom` + the right characters
                                             → PARAMETER_ERROR 入力パラメータが正しく指定されていません。

UpdateTicket first checks keys against both ticket kinds' tables, then TicketProcessType alone (it
chooses the table), then the chosen table (so an incident-only key on a request is unknown), then
the memo list item by item. `""` for an optional field is legal: it clears the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import partial
from typing import Any, Final

from batch.uom import spec
from batch.uom.spec import ErrorType, Field, MemoOp, Msg, TicketKind

from .replies import Refusal

Body = dict[str, Any]
Check = Callable[[], Refusal | None]

TIMESTAMPS: Final = frozenset(spec.COMMON_TIMESTAMPS + spec.REQUEST_ONLY_TIMESTAMPS)
# Optional in the request table, yet a ticket always has a status: "" would not clear it.
NEVER_BLANK: Final = frozenset({"StateCode"})
ALL_UPDATE_KEYS: Final = frozenset(spec.INCIDENT_FIELDS) | spec.REQUEST_FIELDS.keys() | {spec.MEMO_LIST}
TICKET_TYPE: Final = spec.INCIDENT_FIELDS["TicketProcessType"]
_PATTERNS: Final = {
    spec.MASTER_ID: re.compile(r"SA[0-9]+"),
    spec.TICKET_ID: re.compile(r"UTM[0-9]+"),
    spec.SERVICE_CODE: re.compile(r"uom[0-9A-Za-z]+"),
    spec.DATE: re.compile(r"[0-9]{14}"),
}
_SEQ: Final = re.compile(r"[0-9]+")


def first(checks: Iterable[Check]) -> Refusal | None:
    """Run checks in order; the first refusal, or None."""
    for check in checks:
        refusal = check()
        if refusal is not None:
            return refusal
    return None


def is_date(value: str) -> bool:
    """A real calendar date-time written `YYYYMMDDhhmmss` (24-hour clock)."""
    if not _PATTERNS[spec.DATE].fullmatch(value):
        return False
    month, day, hour, minute, second = (int(value[i : i + 2]) for i in range(4, 14, 2))
    try:
        datetime(int(value[:4]), month, day, hour, minute, second)
    except ValueError:
        return False
    return True


def well_formed(field: Field, value: str) -> bool:
    """The value is in the field's choice list and has the field's format."""
    if field.choices is not None and value not in field.choices:
        return False
    if field.fmt == spec.DATE:
        return is_date(value)
    pattern = _PATTERNS.get(field.fmt)
    return pattern is None or pattern.fullmatch(value) is not None


def too_long(field: Field, value: str) -> bool:
    """Over the limit in code points, or for the byte-limited fields in UTF-8 bytes (D8)."""
    if field.max_chars is not None and len(value) > field.max_chars:
        return True
    encoded = value.encode("utf-8", "surrogatepass")
    return field.max_bytes is not None and len(encoded) > field.max_bytes


def _blank(field: Field, value: str) -> bool:
    if value != "" or field.name in TIMESTAMPS:
        return False  # "" is a legal stamp: a section never updated (UT's sample)
    return field.required or field.name in NEVER_BLANK


def _unknown(body: Body, known: Iterable[str]) -> Refusal | None:
    allowed = set(known)
    for name in body:
        if name not in allowed:
            return Refusal(ErrorType.PARAMETER_ERROR, Msg.UNKNOWN_PARAMETER, name)
    return None


def _missing(body: Body, table: Mapping[str, Field]) -> Refusal | None:
    for field in table.values():
        if field.required and field.name not in body:
            return Refusal(ErrorType.PARAMETER_REQUIRED, Msg.REQUIRED, field.name)
    return None


def _each(
    body: Body, table: Mapping[str, Field], bad: Callable[[Field, Any], bool], refusal: Refusal
) -> Refusal | None:
    for field in table.values():
        if field.name in body and bad(field, body[field.name]):
            return Refusal(refusal.error_type, refusal.message, field.name)
    return None


_BLANK: Final = Refusal(ErrorType.PARAMETER_ERROR, Msg.BLANK)
_TOO_LONG: Final = Refusal(ErrorType.PARAMETER_TOO_LONG, Msg.TOO_LONG)
_INVALID: Final = Refusal(ErrorType.PARAMETER_ERROR, Msg.INVALID)


def check_table(body: Body, table: Mapping[str, Field], extra: Iterable[str] = ()) -> Refusal | None:
    """Steps 1–6 over one parameter table; `extra` keys are allowed and checked elsewhere."""
    return first(
        (
            lambda: _unknown(body, [*table, *extra]),
            lambda: _missing(body, table),
            lambda: _each(body, table, lambda f, v: not isinstance(v, str), _INVALID),
            lambda: _each(body, table, _blank, _BLANK),
            lambda: _each(body, table, too_long, _TOO_LONG),
            lambda: _each(body, table, lambda f, v: v != "" and not well_formed(f, v), _INVALID),
        )
    )


def _values(body: Body, table: Mapping[str, Field]) -> Refusal | None:
    """Steps 2–6 for fields checked on their own (the unknown-key step is the caller's)."""
    return check_table({k: body[k] for k in table if k in body}, table)


def get_ticket_detail(body: Body) -> Refusal | None:
    """GetTicketDetail: exactly TicketId, ServiceCode, MasterID (D1)."""
    return check_table(body, spec.GET_TICKET_DETAIL_FIELDS)


def update_ticket(body: Body) -> Refusal | None:
    """UpdateTicket: keys of either kind, then TicketProcessType, then that kind's table, memos."""
    return first(
        (
            lambda: _unknown(body, ALL_UPDATE_KEYS),
            lambda: _values(body, {TICKET_TYPE.name: TICKET_TYPE}),
            lambda: check_table(body, _table(body), extra=(spec.MEMO_LIST,)),
            lambda: memo_list(body),
        )
    )


def _table(body: Body) -> Mapping[str, Field]:
    return spec.update_fields(TicketKind(body["TicketProcessType"]))


def memo_list(body: Body) -> Refusal | None:
    """CorrespondProcessList: absent or a list (possibly empty, D4) of well-formed memo ops."""
    if spec.MEMO_LIST not in body:
        return None
    memos = body[spec.MEMO_LIST]
    if not isinstance(memos, list) or not all(isinstance(m, dict) for m in memos):
        return _bad(spec.MEMO_LIST)
    return first([*(partial(_memo, m) for m in memos), partial(_duplicate_seq, memos)])


def _memo(item: Body) -> Refusal | None:
    return first((lambda: check_table(item, spec.MEMO_FIELDS), lambda: _memo_op(item)))


def _need(item: Body, name: str) -> Refusal | None:
    """A memo key this operation cannot do without: present and not blank."""
    if name not in item:
        return Refusal(ErrorType.PARAMETER_REQUIRED, Msg.REQUIRED, name)
    if item[name] == "":
        return Refusal(ErrorType.PARAMETER_ERROR, Msg.BLANK, name)
    return None


def _memo_op(item: Body) -> Refusal | None:
    op = MemoOp(item[spec.MEMO_CLASS])
    if op is MemoOp.ADD:
        if item.get(spec.MEMO_SEQ, "") != "":  # the manual: 登録時は空欄 (empty when adding)
            return _bad(spec.MEMO_SEQ)
        return _need(item, spec.MEMO_TEXT)
    return first(
        (
            lambda: _need(item, spec.MEMO_SEQ),
            lambda: None if _SEQ.fullmatch(item[spec.MEMO_SEQ]) else _bad(spec.MEMO_SEQ),
            lambda: _need(item, spec.MEMO_TEXT) if op is MemoOp.EDIT else None,
        )
    )


def _bad(name: str) -> Refusal:
    return Refusal(ErrorType.PARAMETER_ERROR, Msg.INVALID, name)


def _duplicate_seq(memos: list[Body]) -> Refusal | None:
    seqs = [m[spec.MEMO_SEQ] for m in memos if m.get(spec.MEMO_SEQ)]
    if len(seqs) != len(set(seqs)):  # two operations on one memo in one request
        return _bad(spec.MEMO_SEQ)
    return None


def release_incident_relate(body: Body) -> Refusal | None:
    """ReleaseIncidentRelate: the six keys; IncidentId a non-empty list of distinct ticket ids."""
    scalars = {k: f for k, f in spec.RELEASE_FIELDS.items() if k != "IncidentId"}
    return first((lambda: check_table(body, scalars, extra=("IncidentId",)), lambda: _children(body)))


def _children(body: Body) -> Refusal | None:
    field = spec.RELEASE_FIELDS["IncidentId"]
    if field.name not in body:
        return Refusal(ErrorType.PARAMETER_REQUIRED, Msg.REQUIRED, field.name)
    ids = body[field.name]
    if not isinstance(ids, list) or not ids:
        return Refusal(ErrorType.PARAMETER_ERROR, Msg.INVALID, field.name)
    one = {field.name: field}
    found = first(partial(check_table, {field.name: i}, one) for i in ids)
    if found is None and len(set(ids)) != len(ids):
        return _bad(field.name)
    return found
