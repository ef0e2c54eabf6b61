"""update-ticket: a job file of UpdateTicket edits, one ticket per row; its columns, rules and rows.

Columns are UpdateTicket's own parameter names. `TicketId` is required. Any field UpdateTicket
takes for incidents or requests may be a column; an empty cell leaves the field as it is, and a
reserved `ClearFields` column names optional fields to empty (a value is never a command).
`TicketProcessType`, `ServiceCode` and `MasterID` are optional; memos come from the memo columns
(jobs.memo); `expect.<Field>` columns hold preconditions, checked with `<Field>`'s rules. The
concurrency timestamps are refused: they always come from the fetched ticket. `OriginalRow`
(written by `uom-batch retry`) is the row's number in the first job file; it is never sent.

Before the fetch, rules refuse only what no ticket could make valid; `update_rules()` checks the
merged update after the fetch, with the same rule objects for each field.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

import polars as pl

from batch.errors import JobFileError
from batch.kind import NO_FIELDS
from batch.uom import spec
from batch.uom.spec import CLOSED, CLOSING_STATES, TicketKind
from batch.validation.conditions import Values, any_of, columns_read, empty, equals, filled, one_of
from batch.validation.header import check_header
from batch.validation.name_lists import NameList, names_in
from batch.validation.rules import ROW, Rule, Violation, check_values, condition, required
from jobs import memo
from jobs.fields import (
    ACTION,
    INVALID,
    ORIGINAL_ROW,
    REQUIRED,
    TYPE,
    is_kind,
    original_row_rules,
    required_for_kind,
    update_field_rules,
    value_rules,
)

name = "update-ticket"
ACTIONS = ("update-ticket", "UpdateTicket")
TICKET = "TicketId"
CLEAR = "ClearFields"
EXPECT = "expect."
STATE, APPROVER, GROUP = "StateCode", "FinishApprovalUserId", "SupportedGroup"
IDENTITY = (TICKET, TYPE, "ServiceCode", "MasterID")
TIMESTAMPS = spec.COMMON_TIMESTAMPS + spec.REQUEST_ONLY_TIMESTAMPS
_ALL = {**spec.INCIDENT_FIELDS, **spec.REQUEST_FIELDS}
FIELDS = tuple(f for f in _ALL if f not in IDENTITY and f not in TIMESTAMPS)
SLICE_ROWS = 10_000


def optional_fields(kind: TicketKind) -> tuple[str, ...]:
    """Fields `ClearFields` may name on a ticket of `kind`."""
    table = spec.update_fields(kind)
    return tuple(f for f in FIELDS if f in table and not table[f].required)


CLEARABLE = tuple(dict.fromkeys(f for k in TicketKind for f in optional_fields(k)))


def known_columns() -> tuple[str, ...]:
    """Every column an update-ticket job file may have."""
    return (*IDENTITY, ACTION, ORIGINAL_ROW, CLEAR, *FIELDS, *memo.COLUMNS, *(EXPECT + f for f in FIELDS))


def recognises(columns: Collection[str]) -> tuple[str, ...]:
    """The columns that mark a file as update-ticket (for inferring the kind)."""
    return tuple(c for c in (TICKET,) if c in columns)


def check_columns(columns: Sequence[str], source: str) -> None:
    """JobFileError naming every unknown, refused or missing column."""
    refused = dict.fromkeys(TIMESTAMPS, "is a concurrency timestamp: it always comes from the fetched ticket")
    check_header(columns, source, known=known_columns(), required=(TICKET,), refused=refused)


# Rules shared by the job file (before the fetch) and the merged update (after it).
APPROVER_ONLY_WHEN_CLOSING = condition(
    "approver_only_when_closing",
    INVALID,
    APPROVER,
    filled(APPROVER) & filled(STATE) & ~one_of(STATE, CLOSING_STATES),
    f"only allowed when StateCode becomes {' or '.join(sorted(CLOSING_STATES))}",
)
APPROVER_REQUIRED_WHEN_CLOSING = condition(
    "approver_required_when_closing",
    INVALID,
    APPROVER,
    one_of(STATE, CLOSING_STATES) & empty(APPROVER),
    "required when StateCode is a closing state",
)
GROUP_UNLESS_CLOSED = condition(
    "group_unless_closed",
    INVALID,
    GROUP,
    empty(GROUP) & ~equals(STATE, CLOSED),
    f"required unless StateCode is {CLOSED}",
)


def _identity_rules(columns: Collection[str]) -> list[Rule]:
    rules = [required(TICKET, REQUIRED)]
    return rules + [r for c in IDENTITY if c in columns for r in value_rules(_ALL[c], c)]


def _field_rules(columns: Collection[str]) -> list[Rule]:
    plain = [r for f in FIELDS if f in columns for r in update_field_rules(f)]
    wanted = [f for f in FIELDS if EXPECT + f in columns]
    return plain + [r for f in wanted for r in update_field_rules(f, EXPECT + f)]


def clear_rules(columns: Collection[str]) -> list[Rule]:
    """What `ClearFields` may name, and what it may not be combined with."""
    listed = NameList(CLEAR, CLEARABLE)
    unknown = listed.lists_other_than(CLEARABLE)
    sets = any_of([listed.lists(f) & filled(f) for f in CLEARABLE if f in columns])
    rules = [
        condition(
            "clear_fields_known",
            INVALID,
            CLEAR,
            unknown,
            "names a field that is not an optional UpdateTicket field",
        ),
        condition("clear_conflict", INVALID, CLEAR, sets, "clears a field the same row sets"),
        condition(
            "clear_group_not_closed",
            INVALID,
            CLEAR,
            listed.lists(GROUP) & filled(STATE) & ~equals(STATE, CLOSED),
            f"clears SupportedGroup, which is required unless StateCode is {CLOSED}",
        ),
        condition(
            "clear_approver_closing",
            INVALID,
            CLEAR,
            listed.lists(APPROVER) & one_of(STATE, CLOSING_STATES),
            "clears FinishApprovalUserId, which a closing StateCode requires",
        ),
    ]
    for kind in TicketKind:
        broken = is_kind(kind) & ~unknown & listed.lists_other_than(optional_fields(kind))
        message = f"names a field that {kind.name.lower()} tickets require"
        rules.append(condition("clear_for_kind", INVALID, CLEAR, broken, message))
    return rules


def rules(columns: Collection[str] | None = None) -> tuple[Rule, ...]:
    """The rules for a job file with `columns` (default: every known column)."""
    cols = tuple(known_columns() if columns is None else columns)
    found = _identity_rules(cols) + _field_rules(cols) + [APPROVER_ONLY_WHEN_CLOSING]
    if CLEAR in cols:
        found += clear_rules(cols)
    return (*found, *memo.rules_for(cols), *original_row_rules(cols))


def update_rules() -> tuple[Rule, ...]:
    """The rules for a merged update (after the fetch; TicketProcessType always set)."""
    found = _identity_rules(IDENTITY) + _field_rules(FIELDS)
    for kind in TicketKind:
        table = spec.update_fields(kind)
        # ServiceCode and MasterID come from the settings when the row has none: not checked here.
        needed = [f for f in (TYPE, *FIELDS) if f in table and table[f].required]
        found += [required_for_kind(f, kind) for f in needed]
    found += [APPROVER_ONLY_WHEN_CLOSING, APPROVER_REQUIRED_WHEN_CLOSING, GROUP_UNLESS_CLOSED]
    return tuple(found)


def check_update(
    values: Values,
    row: int | None = None,
    *,
    only: Collection[str] | None = None,
    validated: Collection[str] = (),
) -> list[Violation]:
    """What a merged update (field → text) breaks, with the same rule objects as the job file.

    `only` limits the check to the rules on those columns (the fields a row clears: the rest are
    the server's own values) plus the rules across fields (approver, support group). `validated`
    are columns whose value is the job file's own, already checked there: of their rules only
    those that read another column (whose value may now be the ticket's) are checked again.
    """
    if only is None and not validated:
        return check_values(values, _UPDATE_RULES, row)
    return check_values(values, _chosen_rules(tuple(only or ()), tuple(validated)), row)


@lru_cache(maxsize=1024)
def _chosen_rules(only: tuple[str, ...], validated: tuple[str, ...]) -> tuple[Rule, ...]:
    """`check_update`'s rules for those columns (a job's rows share a few such sets: chosen once)."""
    chosen = [r for c in only for r in _RULES_BY_COLUMN.get(c, ())]
    chosen += [r for c in validated for r in _RECHECKED_BY_COLUMN.get(c, ())]
    chosen += [r for r in CROSS_FIELD_RULES if r not in chosen]
    return tuple(chosen)


def _reads_other_columns(rule: Rule) -> bool:
    """Whether the rule's condition reads a column besides its own."""
    return bool(columns_read(rule.broken.expr) - {rule.column})


class UpdateRow(NamedTuple):
    """One valid row: what to change on one ticket (a NamedTuple: one per row)."""

    row: int
    ticket_id: str
    changes: dict[str, str]
    clear: tuple[str, ...] = ()
    memo_ops: tuple[dict[str, str], ...] = ()
    expect: Mapping[str, str] = NO_FIELDS
    ticket_kind: str | None = None
    service_code: str | None = None
    master_id: str | None = None


def items(valid: pl.DataFrame) -> Iterator[UpdateRow]:
    """The valid rows as UpdateRow, in file order, built slice by slice."""
    for start in range(0, valid.height, SLICE_ROWS):
        yield from _slice_items(valid.slice(start, SLICE_ROWS))


def _slice_items(part: pl.DataFrame) -> Iterator[UpdateRow]:
    changed = [c for c in part.columns if c in FIELDS]
    expected = [c for c in part.columns if c.startswith(EXPECT)]
    lists_of_ops = memo.list_ops(part)
    memo_columns = any(c in part.columns for c in memo.KEYS)
    for record, listed in zip(part.iter_rows(named=True), lists_of_ops, strict=True):
        ops = memo.column_op(record) + listed if memo_columns else listed
        yield _row(record, changed, expected, ops)


def _row(
    record: Mapping[str, Any],
    changed: list[str],
    expected: list[str],
    ops: tuple[dict[str, str], ...],
) -> UpdateRow:
    get = record.get
    return UpdateRow(
        int(record[ROW]),
        record[TICKET] or "",
        {c: v for c in changed if (v := record[c])},
        tuple(names_in(text)) if (text := get(CLEAR)) else (),
        ops,
        {c.removeprefix(EXPECT): v for c in expected if (v := record[c])} if expected else NO_FIELDS,
        get(TYPE) or None,
        get("ServiceCode") or None,
        get("MasterID") or None,
    )


_UPDATE_RULES = update_rules()
CROSS_FIELD_RULES = (APPROVER_ONLY_WHEN_CLOSING, APPROVER_REQUIRED_WHEN_CLOSING, GROUP_UNLESS_CLOSED)
_RULES_BY_COLUMN: dict[str, list[Rule]] = {}
for _rule in _UPDATE_RULES:
    _RULES_BY_COLUMN.setdefault(_rule.column, []).append(_rule)
# A validated column's rules that may break once merged: those that read another column.
_RECHECKED_BY_COLUMN = {
    c: [r for r in found if _reads_other_columns(r)] for c, found in _RULES_BY_COLUMN.items()
}


def refuse_actions(columns: Collection[str], source: str) -> None:
    """A desired state (reconcile) has fields only: a memo is an action, not a state."""
    actions = [c for c in columns if c in memo.COLUMNS]
    if actions:
        raise JobFileError(
            f"{source}: column {', '.join(repr(c) for c in actions)}: a memo is an action, not a state; "
            "reconcile takes the desired values of fields (use run or plan to add memos)"
        )
