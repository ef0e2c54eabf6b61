"""Validation rules: one object gives a vectorised check of a frame and a scalar check of one row.

A `Rule` names what it checks, the API error code the server would answer for it, the column it
reports, and a `Cond` (batch.validation.conditions) that holds where the row is broken. The same rule object
gives `violations(frame)` (a polars Boolean expression, true where violated) for a job file, and
`check(values)` (True when satisfied) for one merged update after a fetch.

Job kinds (jobs/) build their rules from these constructors;
nothing here knows a UOM field.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import polars as pl

from batch.validation.conditions import (
    Cond,
    Derived,
    Getter,
    Values,
    bytes_over,
    calendar_time,
    empty,
    filled,
    filled_other_than,
    full_match,
    longer_than,
    value,
)

ROW = "row"
EXCERPT_CHARS = 40


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule on one row (scalar form, used after a fetch)."""

    column: str
    rule: str
    error_code: str
    message: str
    excerpt: str
    row: int | None = None


@dataclass(frozen=True, eq=False)
class Rule:
    """A named check over a row: broken where `broken` holds; reported on `column`."""

    name: str
    error_code: str
    column: str
    broken: Cond
    message: str

    def violations(self, frame: pl.DataFrame | pl.LazyFrame | Collection[str]) -> pl.Expr:
        """Boolean expression over `frame` (or its column names): true where the rule is broken."""
        get = getter(_names(frame), self.broken.derived)
        return self.broken.expr(get).fill_null(False).alias(self.name)

    def check(self, values: Values) -> bool:
        """True when one row (a mapping of column to text) satisfies the rule."""
        return not self.broken.test(values)

    def violation(self, values: Values, row: int | None = None) -> Violation | None:
        """The rule's Violation for one row, or None when satisfied."""
        if not self.broken.test(values):
            return None
        cell = excerpt(value(values, self.column))
        return Violation(self.column, self.name, self.error_code, self.message, cell, row)


def check_values(values: Values, rules: Sequence[Rule], row: int | None = None) -> list[Violation]:
    """Every rule `values` breaks, in rule order."""
    found = []
    for rule in rules:  # a loop: this runs for every row after its fetch
        violation = rule.violation(values, row)
        if violation is not None:
            found.append(violation)
    return found


def _names(frame: pl.DataFrame | pl.LazyFrame | Collection[str]) -> frozenset[str]:
    if isinstance(frame, pl.LazyFrame):
        return frozenset(frame.collect_schema().names())
    if isinstance(frame, pl.DataFrame):
        return frozenset(frame.columns)
    return frozenset(frame)


def getter(columns: Collection[str], derived: Sequence[Derived] = ()) -> Getter:
    """Column access for conditions: a derived column not yet in the frame is computed inline;
    any other absent column reads as empty text."""
    present = frozenset(columns)
    builders = dict(derived)

    def get(name: str) -> pl.Expr:
        if name in present:
            return pl.col(name)
        if name in builders:
            return builders[name](get)
        return pl.lit("", dtype=pl.String)

    return get


def excerpt(text: str) -> str:
    """At most 40 characters of a value, line breaks shown as ⏎, cut with …."""
    flat = re.sub("\r\n|\r|\n", "⏎", text)
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "…"


def excerpt_expr(cell: pl.Expr) -> pl.Expr:
    """Vectorised `excerpt`."""
    flat = cell.str.replace_all("\r\n|\r|\n", "⏎")
    cut = flat.str.slice(0, EXCERPT_CHARS - 1) + pl.lit("…")
    return pl.when(flat.str.len_chars() > EXCERPT_CHARS).then(cut).otherwise(flat)


# Constructors. The error code is the caller's: the kinds know which API answer a rule stands for.


def required(column: str, code: str) -> Rule:
    """The cell must have a value."""
    return Rule("required", code, column, empty(column), "is empty")


def max_chars(column: str, limit: int, code: str) -> Rule:
    """At most `limit` characters."""
    return Rule("max_chars", code, column, longer_than(column, limit), f"over {limit} characters")


def max_bytes(column: str, limit: int, code: str) -> Rule:
    """At most `limit` bytes in UTF-8."""
    return Rule("max_bytes", code, column, bytes_over(column, limit), f"over {limit} UTF-8 bytes")


def choice(
    column: str,
    choices: Sequence[str],
    code: str,
    *,
    when: Cond | None = None,
    name: str = "choice",
    what: str = "",
) -> Rule:
    """A filled cell must be one of `choices` (only where `when` holds, if given)."""
    broken = filled_other_than(column, choices)
    message = f"not one of {', '.join(choices)}{what}"
    return Rule(name, code, column, broken if when is None else broken & when, message)


def calendar_datetime(column: str, code: str) -> Rule:
    """A filled cell must be `YYYYMMDDhhmmss` naming a real time."""
    broken = filled(column) & ~calendar_time(column)
    return Rule("datetime", code, column, broken, "not a real YYYYMMDDhhmmss time")


def shape(column: str, pattern: str, label: str, code: str) -> Rule:
    """A filled cell must match `pattern` in full (`label` says it in words)."""
    broken = filled(column) & ~full_match(column, pattern)
    return Rule("shape", code, column, broken, f"not {label}")


def condition(name: str, code: str, column: str, broken: Cond, message: str) -> Rule:
    """Any other rule, e.g. over several columns: broken where `broken` holds."""
    return Rule(name, code, column, broken, message)
