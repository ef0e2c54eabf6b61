"""Cells that hold a JSON list of flat records (`[{"Key": "text", ...}, ...]`), checked vectorised.

polars' `str.json_decode` raises for the whole column when one cell is not JSON, silently drops
unknown keys and keeps the first of two equal keys. So the shape is checked first, without a
decoder, by a regular expression for exactly this JSON subset: a list of objects whose keys come
from a fixed set and whose values are JSON strings (valid escapes, no raw control characters,
surrogate escapes only in pairs). Keys are counted to refuse duplicates. Only cells that pass are
decoded (once per frame, however many rules read the records), so a bad cell is a row problem,
never a crash. Python's `re` and `json` give the scalar side of the same check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import polars as pl

from batch.validation.conditions import Cond, Derived, Getter, Values, value

_WS = "[ \\t\\n\\r]*"
_ESCAPE = (
    r'\\["\\/bfnrt]'
    r"|\\u(?:[0-9a-cA-CefEF][0-9a-fA-F]{3}|[dD][0-7][0-9a-fA-F]{2}"
    r"|[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})"
)
_STRING = rf'"(?:[^"\\\x00-\x1f]|{_ESCAPE})*"'


def _key_pattern(keys: Sequence[str]) -> str:
    for key in keys:
        if re.fullmatch("[A-Za-z0-9_]+", key) is None:
            raise ValueError(f"record key {key!r} must be ASCII letters, digits or _")
    return '"(?:' + "|".join(keys) + ')"'


def shape_body(keys: Sequence[str]) -> str:
    """The regex (unanchored) that a well-formed cell matches in full."""
    pair = _key_pattern(keys) + _WS + ":" + _WS + _STRING
    record = r"\{" + _WS + f"(?:{pair}(?:{_WS},{_WS}{pair})*)?" + _WS + r"\}"
    return _WS + r"\[" + _WS + f"(?:{record}(?:{_WS},{_WS}{record})*)?" + _WS + r"\]" + _WS


def record_dtype(keys: Sequence[str]) -> pl.DataType:
    """The polars type a well-formed cell decodes to."""
    return pl.List(pl.Struct({key: pl.String for key in keys}))


def parse_records(text: str) -> list[dict[str, str]] | None:
    """Scalar decode: the records, or None when a key repeats inside one record."""
    duplicate = False

    def pairs(items: list[tuple[str, str]]) -> dict[str, str]:
        nonlocal duplicate
        duplicate = duplicate or len({k for k, _ in items}) != len(items)
        return dict(items)

    records = json.loads(text, object_pairs_hook=pairs)
    return None if duplicate else records


def _keys_counted(cell: pl.Expr, keys: Sequence[str]) -> pl.Expr:
    # In this grammar a string followed by ":" is always a key, never inside or after a value.
    return cell.str.count_matches(_key_pattern(keys) + _WS + ":")


def _keys_decoded(decoded: pl.Expr, keys: Sequence[str]) -> pl.Expr:
    present = pl.sum_horizontal(pl.element().struct.field(k).is_not_null().cast(pl.UInt32) for k in keys)
    return decoded.list.eval(present).list.sum()


def _shape_expr(cell: pl.Expr, keys: Sequence[str]) -> pl.Expr:
    return cell.str.contains(f"^(?:{shape_body(keys)})$")


def _decode_shaped(cell: pl.Expr, shaped: pl.Expr, keys: Sequence[str]) -> pl.Expr:
    """The records of cells of the right shape; null for the others (no work for list operations)."""
    return pl.when(shaped).then(cell).str.json_decode(record_dtype(keys))


def _well_formed(cell: pl.Expr, shaped: pl.Expr, decoded: pl.Expr, keys: Sequence[str]) -> pl.Expr:
    """Shaped, and no key twice in a record (the decoder keeps only one of them)."""
    counted = _keys_counted(pl.when(shaped).then(cell), keys)
    return (shaped & (counted == _keys_decoded(decoded, keys))).fill_null(False)


def well_formed_expr(cell: pl.Expr, keys: Sequence[str]) -> pl.Expr:
    """True where a cell is a well-formed record list (an empty cell is not)."""
    shaped = _shape_expr(cell, keys)
    return _well_formed(cell, shaped, _decode_shaped(cell, shaped, keys), keys)


def is_well_formed(text: str, keys: Sequence[str]) -> bool:
    """Scalar side of `well_formed_expr`."""
    if re.fullmatch(shape_body(keys), text) is None:
        return False
    return parse_records(text) is not None


def _names(column: str) -> tuple[str, str, str, str]:
    """The helper columns of `column`: shaped, decoded, well formed, records."""
    return (f"__shaped {column}", f"__decoded {column}", f"__well_formed {column}", f"__records {column}")


def _derived(column: str, keys: Sequence[str]) -> tuple[Derived, ...]:
    """Shape, decoded records and well-formedness of `column`, computed once per frame.

    A cell is decoded once, and only when its shape is right; the records of a cell that is not
    well formed are null, which list operations skip (an empty list would cost as much as one).
    """
    shaped, decoded, ok, records = _names(column)
    return (
        (shaped, lambda g: _shape_expr(g(column), keys)),
        (decoded, lambda g: _decode_shaped(g(column), g(shaped), keys)),
        (ok, lambda g: _well_formed(g(column), g(shaped), g(decoded), keys)),
        (records, lambda g: pl.when(g(ok)).then(g(decoded))),
    )


def malformed(column: str, keys: Sequence[str]) -> Cond:
    """The cell is filled but is not a well-formed record list."""
    ok = _names(column)[2]
    return Cond(
        lambda g: (g(column).str.len_bytes() > 0) & ~g(ok),
        lambda v: value(v, column) != "" and not is_well_formed(value(v, column), keys),
        _derived(column, keys)[:3],
    )


def decode_expr(cell: pl.Expr, keys: Sequence[str]) -> pl.Expr:
    """The records of well-formed cells; an empty list for any other cell."""
    safe = pl.when(well_formed_expr(cell, keys)).then(cell).otherwise(pl.lit("[]"))
    return safe.str.json_decode(record_dtype(keys))


def any_record(column: str, keys: Sequence[str], cond: Cond) -> Cond:
    """Some record of a well-formed cell meets `cond` (its keys read as columns, absent as "")."""

    def field(key: str) -> pl.Expr:
        return pl.element().struct.field(key).fill_null("")

    def expr(g: Getter) -> pl.Expr:
        return g(_names(column)[3]).list.eval(cond.expr(field)).list.any().fill_null(False)

    def test(values: Values) -> bool:
        text = value(values, column)
        if not is_well_formed(text, keys):
            return False
        return any(cond.test(record) for record in parse_records(text) or ())

    return Cond(expr, test, _derived(column, keys))
