"""A plan's changes as diff lines: one per changed field of a row, memo operations included (pure).

`memo +` is an add (before empty), `memo <seq>` an edit or a delete (after empty); the before
text of a memo comes from the plan's intent (`memos_before`, read when the plan was made).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson
import polars as pl

from batch.uom.spec import MEMO_CLASS, MEMO_LIST, MEMO_SEQ, MEMO_TEXT, MemoOp

DiffLine = tuple[int, str, str, str, str]  # row, ticket_id, field, before, after


def diff_lines(rows: pl.DataFrame) -> Iterator[DiffLine]:
    """Every change a run of the plan would make, in row order."""
    planned = rows.filter(pl.col("request_json").is_not_null())
    for r in planned.iter_rows(named=True):
        before, after = orjson.loads(r["before_json"]), orjson.loads(r["after_json"])
        for name in r["changed_fields"]:
            if name != MEMO_LIST:
                yield r["row"], r["ticket_id"], name, before.get(name, ""), after.get(name, "")
        if r["intent_json"] is not None:
            yield from memo_lines(r["row"], r["ticket_id"], orjson.loads(r["intent_json"]))


def memo_lines(row: int, ticket: str, intent: Mapping[str, Any]) -> Iterator[DiffLine]:
    """The memo operations of one planned update as diff lines."""
    old = intent.get("memos_before", {})
    for op in intent.get("memo_ops", []):
        seq, kind = op.get(MEMO_SEQ, ""), op.get(MEMO_CLASS, MemoOp.ADD)
        if kind == MemoOp.ADD:
            yield row, ticket, "memo +", "", op.get(MEMO_TEXT, "")
        else:
            after = "" if kind == MemoOp.DELETE else op.get(MEMO_TEXT, "")
            yield row, ticket, f"memo {seq}", old.get(seq, ""), after
