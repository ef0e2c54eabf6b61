"""Work memos (対応メモ) in an update-ticket job: columns, rules, and the operations a row asks for.

A row gives one memo operation through the columns `CorrespondProcess`, `CorrespondProcessSeq`
and `CorrespondProcessOperationClass`, or several through `CorrespondProcessList` (JSON text in
CSV; a Parquet list of structs arrives as the same JSON text from the loader), never both.
The operation class defaults to `0` (add) when a row gives a memo without one. Rules: class in
0/1/2; add ⇒ no sequence; edit/delete ⇒ a sequence of digits; add/edit ⇒ a text; sequence at
most 9 characters, text at most 2048. Each list item is held to the same rules, by the same
conditions applied to its keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from batch.uom.spec import MEMO_CLASS, MEMO_FIELDS, MEMO_LIST, MEMO_SEQ, MEMO_TEXT, MemoOp
from batch.validation.conditions import Cond, always, empty, equals, filled, full_match, one_of
from batch.validation.json_records import any_record, decode_expr, malformed
from batch.validation.rules import Rule, condition
from jobs.fields import INVALID, REQUIRED, value_rules

KEYS = (MEMO_SEQ, MEMO_CLASS, MEMO_TEXT)
COLUMNS = (*KEYS, MEMO_LIST)
ADD, EDIT, DELETE = MemoOp.ADD.value, MemoOp.EDIT.value, MemoOp.DELETE.value


def _op_rules(present: Cond) -> list[Rule]:
    """The combination rules of one memo operation (`present`: the row gives one at all)."""
    adding = present & (empty(MEMO_CLASS) | equals(MEMO_CLASS, ADD))
    needs_text = adding | equals(MEMO_CLASS, EDIT)
    needs_seq = one_of(MEMO_CLASS, (EDIT, DELETE))
    seq_filled = filled(MEMO_SEQ)
    return [
        condition(
            "memo_seq_digits",
            INVALID,
            MEMO_SEQ,
            seq_filled & ~full_match(MEMO_SEQ, "[0-9]+"),
            "not a memo sequence number (digits)",
        ),
        condition(
            "memo_add_without_seq",
            INVALID,
            MEMO_SEQ,
            adding & seq_filled,
            "must be empty when adding a memo (class 0)",
        ),
        condition(
            "memo_seq_required",
            REQUIRED,
            MEMO_SEQ,
            needs_seq & empty(MEMO_SEQ),
            "needed to edit or delete a memo (class 1 or 2)",
        ),
        condition(
            "memo_text_required",
            REQUIRED,
            MEMO_TEXT,
            needs_text & empty(MEMO_TEXT),
            "needed to add or edit a memo (class 0 or 1)",
        ),
    ]


def _value_rules() -> list[Rule]:
    return [r for key in KEYS for r in value_rules(MEMO_FIELDS[key], key)]


def column_rules() -> tuple[Rule, ...]:
    """Rules for the single-memo columns of a row."""
    present = filled(MEMO_TEXT) | filled(MEMO_SEQ) | filled(MEMO_CLASS)
    both = filled(MEMO_LIST) & present
    exclusive = condition(
        "memo_list_or_columns",
        INVALID,
        MEMO_LIST,
        both,
        "give memos either as a list or in the memo columns, not both",
    )
    return (*_value_rules(), *_op_rules(present), exclusive)


def list_rules() -> tuple[Rule, ...]:
    """Rules for `CorrespondProcessList`: well-formed JSON, then each item as a memo operation."""
    keys = ", ".join(KEYS)
    shape = condition(
        "memo_list_json",
        INVALID,
        MEMO_LIST,
        malformed(MEMO_LIST, KEYS),
        f"not a JSON list of objects with only the keys {keys} (text values)",
    )
    per_item = [
        condition(
            r.name,
            r.error_code,
            MEMO_LIST,
            any_record(MEMO_LIST, KEYS, r.broken),
            f"a memo in the list: {r.column} {r.message}",
        )
        for r in (*_value_rules(), *_op_rules(always(True)))
    ]
    return (shape, *per_item)


def op(seq: str | None, op_class: str | None, text: str | None) -> dict[str, str]:
    """One memo operation as UpdateTicket takes it (class defaults to add)."""
    return {MEMO_SEQ: seq or "", MEMO_CLASS: op_class or ADD, MEMO_TEXT: text or ""}


def column_op(record: Mapping[str, str | None]) -> tuple[dict[str, str], ...]:
    """The operation the memo columns of one row give (none when all are empty)."""
    seq, op_class, text = (record.get(k) or "" for k in KEYS)
    return (op(seq, op_class, text),) if seq or op_class or text else ()


def list_ops(part: pl.DataFrame) -> list[tuple[dict[str, str], ...]]:
    """The memo list of every row of `part` (validated rows), decoded vectorised."""
    if MEMO_LIST not in part.columns:
        return [()] * part.height
    decoded = part.select(decode_expr(pl.col(MEMO_LIST), KEYS)).to_series().to_list()
    return [tuple(_op_of(r) for r in records or ()) for records in decoded]


def _op_of(record: Mapping[str, str | None]) -> dict[str, str]:
    return op(record.get(MEMO_SEQ), record.get(MEMO_CLASS), record.get(MEMO_TEXT))


def rules_for(columns: Sequence[str]) -> tuple[Rule, ...]:
    """The memo rules a job file with `columns` needs."""
    rules: tuple[Rule, ...] = ()
    if any(c in columns for c in KEYS):
        rules += column_rules()
    if MEMO_LIST in columns:
        rules += list_rules()
    return rules
