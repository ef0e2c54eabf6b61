"""The cheaper vectorised forms (the calendar regex, name lists as bit sets) against their scalar truth."""

from __future__ import annotations

import itertools

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batch.validation.conditions import Cond, calendar_time, filled, filled_other_than, one_of
from batch.validation.name_lists import NameList, lists, lists_other_than
from batch.validation.rules import condition

# Leap: 0004 0400 1600 2000 2024 9996; not: 0001 0100 1900 2023 2100 9999; 0000 is no year.
YEARS = [f"{y:04d}" for y in (0, 1, 4, 100, 400, 1600, 1900, 2000, 2023, 2024, 2100, 9996, 9999)]
CLOCKS = ["000000", "235959", "240000", "236000", "230060", "005900", "120000"]


def _verdicts(cond: Cond, cells: list[str]) -> tuple[list[bool], list[bool]]:
    """(vectorised, scalar) verdicts of `cond` on a one-column frame of `cells`."""
    data = pl.DataFrame({"A": cells})
    rule = condition("x", "E", "A", cond, "m")
    return data.select(rule.violations(data)).to_series().to_list(), [not rule.check({"A": c}) for c in cells]


def test_calendar_regex_agrees_with_datetime_on_every_month_and_day() -> None:
    """Every MMDD from 0000 to 1399 in leap, non-leap, century and edge years, at edge times."""
    values = [f"{y}{md:04d}{c}" for y, md, c in itertools.product(YEARS, range(1400), CLOCKS)]
    vector, scalar = _verdicts(calendar_time("A"), values)
    assert vector == scalar
    assert sum(scalar) == (6 * 366 + 6 * 365) * 4  # 6 leap years, 6 others, year 0 none; 4 real clocks


VOCABULARY = ("Title", "Category", "SubStateCode", "SupportedGroup")
NAME = st.sampled_from([*VOCABULARY, "Other", "title", "", " ", "\u3000", "Title\u3000"])
CELL = st.lists(NAME, max_size=4).flatmap(
    lambda names: st.lists(
        st.sampled_from([";", ",", " ; ", ",,", "\t,"]), min_size=len(names), max_size=len(names)
    ).map(lambda seps: "".join(n + s for n, s in zip(names, seps, strict=True)))
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(CELL, st.text(max_size=10)), min_size=1, max_size=20))
def test_name_list_bits_agree_with_the_name_lists(cells: list[str]) -> None:
    """NameList bit tests give the verdicts of `lists` and `lists_other_than` (repeats, blanks, unknowns)."""
    listed = NameList("A", VOCABULARY)
    pairs = [(listed.lists(n), lists("A", n)) for n in VOCABULARY]
    for allowed in ((), VOCABULARY, VOCABULARY[:2], ("SupportedGroup",)):
        pairs.append((listed.lists_other_than(allowed), lists_other_than("A", allowed)))
    for fast, plain in pairs:
        vector, scalar = _verdicts(fast, cells)
        assert vector == scalar == _verdicts(plain, cells)[0]


def test_name_list_refuses_names_outside_its_vocabulary() -> None:
    """A condition on a name the bit set has no bit for is a programming error, said at once."""
    listed = NameList("A", VOCABULARY)
    with pytest.raises(KeyError):
        listed.lists("Nope")
    with pytest.raises(ValueError, match="not in the vocabulary"):
        listed.lists_other_than(["Nope"])
    with pytest.raises(ValueError, match="at most 62"):
        NameList("A", [f"n{i}" for i in range(63)])


CHOICES = ("高", "中", "1", "2")
VALUE = st.one_of(
    st.sampled_from(["", " ", *CHOICES, "UTM1", "UTM", "20240229000000", "20230229000000"]),
    st.text(max_size=8),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(VALUE, min_size=1, max_size=20))
def test_folded_conditions_equal_the_compositions_they_replace(cells: list[str]) -> None:
    """One look-up with "" among the options gives the verdicts of `filled & ~one_of`, both forms."""
    pairs = [
        (filled_other_than("A", CHOICES), filled("A") & ~one_of("A", CHOICES)),
        (filled_other_than("A", CHOICES[:2]), filled("A") & ~one_of("A", CHOICES[:2])),
        (filled_other_than("A", CHOICES[:1]), filled("A") & ~one_of("A", CHOICES[:1])),
    ]
    for folded, composed in pairs:
        vector, scalar = _verdicts(folded, cells)
        assert vector == scalar == _verdicts(composed, cells)[0] == _verdicts(composed, cells)[1]
