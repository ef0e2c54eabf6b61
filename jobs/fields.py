"""Validation rules for UOM request fields, built from batch.uom.spec's tables; shared by the kinds.

A field's rules check a filled cell only (an empty cell leaves the ticket as it is): maximum
characters, maximum UTF-8 bytes for the `65535Byte` fields, its choice list, `YYYYMMDDhhmmss`,
and id shapes. Where the two ticket kinds disagree (StateCode's list, fields only one kind takes),
the rule is guarded by `TicketProcessType`: before the fetch it fires for rows that give the type,
and after the fetch, on the merged update that always carries it, the same rule object decides.
Constructors are cached, so a column's rules are the same objects wherever they are used.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from functools import cache

from batch.uom import spec
from batch.uom.spec import ErrorType, Field, TicketKind
from batch.validation.conditions import Cond, equals, filled, one_of
from batch.validation.rules import Rule, calendar_datetime, choice, condition, max_bytes, max_chars, shape

REQUIRED = ErrorType.PARAMETER_REQUIRED.value
TOO_LONG = ErrorType.PARAMETER_TOO_LONG.value
INVALID = ErrorType.PARAMETER_ERROR.value

ACTION = "Action"  # the kind of a job file, as a column (same value in every row)
# A row's number in the job file it was first in (`uom-batch retry` writes it); the ledger keeps it.
ORIGINAL_ROW = "OriginalRow"
TYPE = "TicketProcessType"
KIND_NAMES = {TicketKind.INCIDENT: "incident", TicketKind.REQUEST: "request"}

# Id shapes (D10: ids are UTM + digits everywhere), as regexes Rust and Python read alike.
SHAPES: dict[str, tuple[str, str]] = {
    spec.TICKET_ID: ("UTM[0-9]+", "UTM + digits"),
    spec.MASTER_ID: ("SA[0-9]+", "SA + digits"),
    spec.SERVICE_CODE: ("uom[0-9A-Za-z]+", "uom + letters or digits"),
}


def is_kind(kind: TicketKind) -> Cond:
    """The row is about a ticket of `kind` (its TicketProcessType says so)."""
    return equals(TYPE, kind.value)


def kind_unknown() -> Cond:
    """The row does not say which kind its ticket is (yet)."""
    return ~one_of(TYPE, [k.value for k in TicketKind])


# At most 18 digits, so that the ledger's Int64 `original_row` always holds it.
ORIGINAL_ROW_RULE = shape(
    ORIGINAL_ROW, "[2-9]|[1-9][0-9]{1,17}", "a spreadsheet row number (a whole number from 2)", INVALID
)


def original_row_rules(columns: Collection[str]) -> tuple[Rule, ...]:
    """The rule for `OriginalRow` when the file has that column (an empty cell passes)."""
    return (ORIGINAL_ROW_RULE,) if ORIGINAL_ROW in columns else ()


@cache
def value_rules(field: Field, column: str) -> tuple[Rule, ...]:
    """The rules of `field` for a filled cell of `column` (without `required`)."""
    rules: list[Rule] = []
    if field.max_chars is not None:
        rules.append(max_chars(column, field.max_chars, TOO_LONG))
    if field.max_bytes is not None:
        rules.append(max_bytes(column, field.max_bytes, TOO_LONG))
    if field.choices is not None:
        rules.append(choice(column, field.choices, INVALID))
    if field.fmt == spec.DATE:
        rules.append(calendar_datetime(column, INVALID))
    elif field.fmt in SHAPES:
        pattern, label = SHAPES[field.fmt]
        rules.append(shape(column, pattern, label, INVALID))
    return tuple(rules)


@cache
def update_field_rules(name: str, column: str | None = None) -> tuple[Rule, ...]:
    """Rules for an UpdateTicket field in `column` (default: its own name), either ticket kind."""
    column = column or name
    tables = {kind: spec.update_fields(kind) for kind in TicketKind}
    fields = {kind: table[name] for kind, table in tables.items() if name in table}
    # `required` is not a value rule; dropping it makes the cache key the same for both tables.
    first = replace(next(iter(fields.values())), required=False)
    if len({f.choices for f in fields.values()}) == 1:
        rules = list(value_rules(first, column))
    else:
        rules = list(value_rules(replace(first, choices=None), column))
        rules += _choices_by_kind(fields, column)
    rules += [_not_for_kind(column, kind) for kind in TicketKind if kind not in fields]
    return tuple(rules)


def _choices_by_kind(fields: dict[TicketKind, Field], column: str) -> list[Rule]:
    """One choice rule per kind, guarded by the row's type; the union when the type is unknown."""
    union = tuple(dict.fromkeys(c for f in fields.values() for c in f.choices or ()))
    rules = [choice(column, union, INVALID, when=kind_unknown())]
    for kind, field in fields.items():
        what = f" (the {KIND_NAMES[kind]} list)"
        options = field.choices or ()
        guard = is_kind(kind)
        rules.append(choice(column, options, INVALID, when=guard, name="choice_for_kind", what=what))
    return rules


def _not_for_kind(column: str, kind: TicketKind) -> Rule:
    """A field the other kind's table lacks, set on a row whose type is `kind`."""
    message = f"{KIND_NAMES[kind]} tickets do not take this field"
    return condition("field_for_kind", INVALID, column, filled(column) & is_kind(kind), message)


def required_for_kind(name: str, kind: TicketKind) -> Rule:
    """After the fetch: a field `kind` requires must have a value in the update."""
    broken = ~filled(name) & is_kind(kind)
    return condition("required", REQUIRED, name, broken, f"required on {KIND_NAMES[kind]} tickets")
