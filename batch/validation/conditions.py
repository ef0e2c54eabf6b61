"""Row conditions that evaluate two ways: as a polars expression over a frame, and over one mapping.

A validation rule marks a row as broken when its condition holds. The engine checks a whole job
file with the vectorised form and one merged update (after a fetch) with the scalar form; both
forms come from the same primitive here, so they cannot drift apart (a Hypothesis test holds them
to it).

Values are text. An absent column or key, and a null, read as "" (an empty cell): in a job file an
empty cell means "leave as it is", so most conditions look at filled cells only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime

import polars as pl

Getter = Callable[[str], pl.Expr]
Values = Mapping[str, str | None]
# A helper column computed once per frame (e.g. a decoded JSON cell) that several conditions read
# through the getter by its name: (name, expression built with the getter).
Derived = tuple[str, Callable[[Getter], pl.Expr]]


class Cond:
    """A condition on one row of text values, as a polars expression and as a Python test.

    `derived` names helper columns the expression reads; `batch.validate` computes each once per
    frame instead of once per rule.
    """

    __slots__ = ("_expr", "_test", "derived")

    def __init__(
        self,
        expr: Callable[[Getter], pl.Expr],
        test: Callable[[Values], bool],
        derived: tuple[Derived, ...] = (),
    ) -> None:
        self._expr = expr
        self._test = test
        self.derived = derived

    def expr(self, get: Getter) -> pl.Expr:
        """The Boolean expression; `get(column)` gives the column's values (absent: "")."""
        return self._expr(get)

    def test(self, values: Values) -> bool:
        """The same condition over one row."""
        return self._test(values)

    # The scalar sides are combined from the tests themselves, not through `test`: a merged
    # update is checked after every fetch, and each method call is one more per condition.
    def __and__(self, other: Cond) -> Cond:
        first, second = self._test, other._test
        return Cond(
            lambda g: self.expr(g) & other.expr(g),
            lambda v: first(v) and second(v),
            merge_derived(self.derived, other.derived),
        )

    def __or__(self, other: Cond) -> Cond:
        first, second = self._test, other._test
        return Cond(
            lambda g: self.expr(g) | other.expr(g),
            lambda v: first(v) or second(v),
            merge_derived(self.derived, other.derived),
        )

    def __invert__(self) -> Cond:
        test = self._test
        return Cond(lambda g: ~self.expr(g), lambda v: not test(v), self.derived)


def columns_read(build: Callable[[Getter], pl.Expr]) -> set[str]:
    """The columns (and helper columns) an expression builder reads, found by building it once."""
    read: set[str] = set()

    def get(name: str) -> pl.Expr:
        read.add(name)
        return pl.col(name)

    build(get)
    return read


def merge_derived(*groups: tuple[Derived, ...]) -> tuple[Derived, ...]:
    """Derived columns of several conditions, each once, in first-seen order."""
    return tuple({name: (name, build) for group in groups for name, build in group}.values())


def value(values: Values, column: str) -> str:
    """A row's value of `column`: "" when absent or null."""
    found = values.get(column)
    return "" if found is None else found


def always(truth: bool) -> Cond:
    """A constant condition (the neutral element when combining)."""
    return Cond(lambda g: pl.lit(truth), lambda v: truth)


def empty(column: str) -> Cond:
    """The cell is empty."""
    # The length is read from each cell's view: half the cost of comparing the text with "".
    return Cond(lambda g: g(column).str.len_bytes() == 0, lambda v: value(v, column) == "")


def filled(column: str) -> Cond:
    """The cell has a value."""
    return Cond(lambda g: g(column).str.len_bytes() > 0, lambda v: value(v, column) != "")


def equals(column: str, text: str) -> Cond:
    """The cell is exactly `text`."""
    return Cond(lambda g: g(column) == text, lambda v: value(v, column) == text)


def one_of(column: str, choices: Collection[str]) -> Cond:
    """The cell is one of `choices` (exact strings)."""
    options = sorted(set(choices))
    return Cond(lambda g: _is_in(g(column), options), lambda v: value(v, column) in options)


def filled_other_than(column: str, choices: Collection[str]) -> Cond:
    """The cell has a value that is not one of `choices`: `filled & ~one_of` in one test ("" is
    taken as one more option)."""
    options = sorted({*choices, ""})
    return Cond(lambda g: ~_is_in(g(column), options), lambda v: value(v, column) not in options)


# Up to this many options, comparisons cost less than a hash look-up (polars' `is_in`), and
# rules over one column share them (polars computes a repeated subexpression once; the ticket
# kinds' choice lists overlap).
FEW_OPTIONS = 8


def _is_in(cell: pl.Expr, options: Sequence[str]) -> pl.Expr:
    if not 0 < len(options) <= FEW_OPTIONS:
        return cell.is_in(options)
    found = cell == options[0]
    for option in options[1:]:
        found = found | (cell == option)
    return found


def longer_than(column: str, limit: int) -> Cond:
    """More than `limit` characters (code points)."""

    def expr(g: Getter) -> pl.Expr:
        cell = g(column)
        # A cell has at most as many characters as UTF-8 bytes, and bytes are counted for free:
        # characters are counted only in cells over the limit in bytes (when none is, polars
        # skips the count altogether).
        over = cell.str.len_bytes() > limit
        return pl.when(over).then(cell).otherwise(pl.lit("")).str.len_chars() > limit

    return Cond(expr, lambda v: len(value(v, column)) > limit)


def bytes_over(column: str, limit: int) -> Cond:
    """More than `limit` bytes in UTF-8."""
    return Cond(
        lambda g: g(column).str.len_bytes() > limit,
        lambda v: len(value(v, column).encode("utf-8")) > limit,
    )


def full_match(column: str, pattern: str) -> Cond:
    """The whole cell matches `pattern` (a regex in the subset Rust and Python agree on)."""
    compiled = re.compile(pattern)
    return Cond(
        lambda g: g(column).str.contains(f"^(?:{pattern})$"),
        lambda v: compiled.fullmatch(value(v, column)) is not None,
    )


# YYYYMMDDhhmmss naming a real time in years 1 to 9999, as one regex (Rust and Python read it
# alike): a year other than 0000 with a month and a day it has, or a leap year's Feb 29; then
# hh 00-23, mm and ss 00-59. A leap year is divisible by 4 but not by 100 (the last two digits),
# or divisible by 400 (the first two digits, then 00).
_YEAR = "(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_MONTH_DAY = (
    "(?:(?:0[13578]|1[02])(?:0[1-9]|[12][0-9]|3[01])"
    "|(?:0[469]|11)(?:0[1-9]|[12][0-9]|30)"
    "|02(?:0[1-9]|1[0-9]|2[0-8]))"
)
_CLOCK = "(?:[01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]"
CALENDAR_TIME = f"(?:{_YEAR}{_MONTH_DAY}|{_LEAP_YEAR}0229){_CLOCK}"


def calendar_time(column: str) -> Cond:
    """The cell is `YYYYMMDDhhmmss` and names a real time (no Feb 30, hour 24, second 60)."""
    # One regex: a third of the cost of parsing the digits and checking them by arithmetic, and
    # no strptime (chrono would also take a leap second and year 0). The scalar side asks
    # Python's datetime, so the agreement tests hold the regex to the calendar.
    return Cond(
        lambda g: g(column).str.contains(f"^(?:{CALENDAR_TIME})$"),
        lambda v: is_calendar_time(value(v, column)),
    )


def is_calendar_time(text: str) -> bool:
    """Scalar side of `calendar_time`."""
    if re.fullmatch("[0-9]{14}", text) is None:
        return False
    month, day, hour, minute, second = (int(text[i : i + 2]) for i in range(4, 14, 2))
    try:
        datetime(int(text[0:4]), month, day, hour, minute, second)
    except ValueError:
        return False
    return True


def any_of(conds: Sequence[Cond]) -> Cond:
    """True when any of `conds` is (false for none)."""
    result = always(False)
    for cond in conds:
        result = result | cond
    return result


def same(first: str, second: str) -> Cond:
    """Two cells hold the same text."""
    return Cond(lambda g: g(first) == g(second), lambda v: value(v, first) == value(v, second))
