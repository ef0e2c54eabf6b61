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


class NameList:
    """A cell that lists names from a known vocabulary, read once per frame as a set of bits.

    Bit i stands for `vocabulary[i]`, one more bit for any name outside it, so that `lists` and
    `lists_other_than` are integer tests on one helper column instead of a search of each row's
    list per condition. The scalar side reads the names as `lists` does.
    """

    OTHER = 1 << 62  # some listed name is not in the vocabulary

    def __init__(self, column: str, vocabulary: Sequence[str]) -> None:
        names = tuple(dict.fromkeys(vocabulary))
        if len(names) > 62:
            raise ValueError(f"at most 62 names fit a bit set, not {len(names)}")
        self.column = column
        self.bits = {name: 1 << i for i, name in enumerate(names)}
        self._name = f"__listed {column}"
        self._derived: tuple[Derived, ...] = ((self._name, self._mask),)

    def _mask(self, g: Getter) -> pl.Expr:
        bit = pl.element().replace_strict(
            list(self.bits), list(self.bits.values()), default=self.OTHER, return_dtype=pl.Int64
        )
        # An empty list aggregates to null: no bit set. (`list.agg`, not `list.eval` and `first`:
        # one list fewer per row, a tenth of the mask's cost.)
        return _names_expr(g(self.column)).list.agg(bit.bitwise_or()).fill_null(0)

    def _any_bit(self, bits: int) -> Callable[[Getter], pl.Expr]:
        return lambda g: (g(self._name) & pl.lit(bits, dtype=pl.Int64)) != 0

    def lists(self, name: str) -> Cond:
        """The cell's list of names contains `name` (one of the vocabulary)."""
        column = self.column
        return Cond(
            self._any_bit(self.bits[name]),
            lambda v: name in names_in(value(v, column)),
            self._derived,
        )

    def lists_other_than(self, allowed: Collection[str]) -> Cond:
        """The cell lists a name that is not in `allowed` (a part of the vocabulary)."""
        column, options = self.column, frozenset(allowed)
        others = self.OTHER | sum(bit for name, bit in self.bits.items() if name not in options)
        unknown = options - self.bits.keys()
        if unknown:
            raise ValueError(f"not in the vocabulary of {column}: {sorted(unknown)}")
        return Cond(
            self._any_bit(others),
            lambda v: any(n not in options for n in names_in(value(v, column))),
            self._derived,
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
