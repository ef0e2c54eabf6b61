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

# Separators and blanks of a cell that lists names ("A; B, C"). The blanks are spelled out because
# polars (Rust) and Python disagree on what counts as Unicode whitespace.
NAME_BLANKS = " \t\u3000"


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

    def __and__(self, other: Cond) -> Cond:
        return Cond(
            lambda g: self.expr(g) & other.expr(g),
            lambda v: self.test(v) and other.test(v),
            merge_derived(self.derived, other.derived),
        )

    def __or__(self, other: Cond) -> Cond:
        return Cond(
            lambda g: self.expr(g) | other.expr(g),
            lambda v: self.test(v) or other.test(v),
            merge_derived(self.derived, other.derived),
        )

    def __invert__(self) -> Cond:
        return Cond(lambda g: ~self.expr(g), lambda v: not self.test(v), self.derived)


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
    return Cond(lambda g: g(column) == "", lambda v: value(v, column) == "")


def filled(column: str) -> Cond:
    """The cell has a value."""
    return ~empty(column)


def equals(column: str, text: str) -> Cond:
    """The cell is exactly `text`."""
    return Cond(lambda g: g(column) == text, lambda v: value(v, column) == text)


def one_of(column: str, choices: Collection[str]) -> Cond:
    """The cell is one of `choices` (exact strings)."""
    options = sorted(set(choices))
    return Cond(lambda g: g(column).is_in(options), lambda v: value(v, column) in options)


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


def _number_name(column: str) -> str:
    return f"__number {column}"


def _fourteen_digits(cell: pl.Expr) -> pl.Expr:
    """The cell as a number when it is 14 ASCII digits, else 0 (computed once per frame)."""
    # Rust's integer parse takes a sign: a "+" is refused here, a "-" gives a year below 1.
    plain = (cell.str.len_bytes() == 14) & ~cell.str.starts_with("+")
    return pl.when(plain).then(cell.str.to_integer(strict=False)).otherwise(0).fill_null(0)


# Every real month-and-day as MMDD (Feb 29 included; the year decides it).
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MMDD = [m * 100 + d for m, last in enumerate(_MONTH_DAYS, 1) for d in range(1, last + 1)]


def _real_time(n: pl.Expr) -> pl.Expr:
    """YYYYMMDDhhmmss as a number (0: not one) names a real time, in years 1 to 9999."""
    year, mmdd, hhmmss = n // 10**10, n // 10**6 % 10**4, n % 10**6
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    clock = (hhmmss < 240000) & (hhmmss % 10**4 < 6000) & (hhmmss % 100 < 60)
    return (year >= 1) & mmdd.is_in(_MMDD) & ((mmdd != 229) | leap) & clock


def calendar_time(column: str) -> Cond:
    """The cell is `YYYYMMDDhhmmss` and names a real time (no Feb 30, hour 24, second 60)."""
    # Arithmetic on the number, not strptime: chrono would also take a leap second and year 0.
    name = _number_name(column)
    derived: tuple[Derived, ...] = ((name, lambda g: _fourteen_digits(g(column))),)
    return Cond(
        lambda g: _real_time(g(name)),
        lambda v: is_calendar_time(value(v, column)),
        derived,
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


def names_in(text: str) -> list[str]:
    """The names a cell lists, separated by `;` or `,`, blanks around them dropped."""
    parts = (p.strip(NAME_BLANKS) for p in re.split("[;,]", text))
    return [p for p in parts if p]


# One listed name: from its first to its last character that is neither a separator nor a blank.
_NAME = f"[^;,{NAME_BLANKS}](?:[^;,]*[^;,{NAME_BLANKS}])?"


def _names_expr(cell: pl.Expr) -> pl.Expr:
    return cell.str.extract_all(_NAME)


def _names_name(column: str) -> str:
    return f"__names {column}"


def _names(column: str) -> tuple[Derived, ...]:
    """The names a cell lists, split once per frame for every condition on `column`."""
    return ((_names_name(column), lambda g: _names_expr(g(column))),)


def lists(column: str, name: str) -> Cond:
    """The cell's list of names contains `name`."""
    return Cond(
        lambda g: g(_names_name(column)).list.contains(name),
        lambda v: name in names_in(value(v, column)),
        _names(column),
    )


def lists_other_than(column: str, allowed: Collection[str]) -> Cond:
    """The cell lists a name that is not in `allowed`."""
    options = sorted(set(allowed))
    return Cond(
        lambda g: g(_names_name(column)).list.eval(~pl.element().is_in(options)).list.any(),
        lambda v: any(n not in options for n in names_in(value(v, column))),
        _names(column),
    )


def any_of(conds: Sequence[Cond]) -> Cond:
    """True when any of `conds` is (false for none)."""
    result = always(False)
    for cond in conds:
        result = result | cond
    return result


def same(first: str, second: str) -> Cond:
    """Two cells hold the same text."""
    return Cond(lambda g: g(first) == g(second), lambda v: value(v, first) == value(v, second))
