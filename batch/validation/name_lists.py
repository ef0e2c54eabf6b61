"""Conditions on a cell that lists names ("Title; Category"), as ClearFields does.

`names_in` reads a cell's names (separated by `;` or `,`, blanks around them dropped); `lists` and
`lists_other_than` test a cell's list, split once per frame; `NameList` does the same for names
from a known vocabulary as bit tests on one helper column, the cheaper form the job kinds use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence

import polars as pl

from batch.validation.conditions import Cond, Derived, Getter, value

# Separators and blanks of a cell that lists names ("A; B, C"). The blanks are spelled out because
# polars (Rust) and Python disagree on what counts as Unicode whitespace.
NAME_BLANKS = " \t\u3000"


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
