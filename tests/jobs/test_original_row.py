"""OriginalRow, the column `retry` writes: both kinds accept it, and it must be a row number >= 2."""

from __future__ import annotations

from types import ModuleType

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from batch.validation.check import validate
from jobs import release_relation, update_ticket
from jobs.fields import ORIGINAL_ROW, ORIGINAL_ROW_RULE

ROWS: dict[str, dict[str, str]] = {
    "update-ticket": {"TicketId": "UTM1000001", "Priority": "高"},
    "release-relation": {"MasterIncidentId": "UTM1000091", "IncidentId": "UTM1000061"},
}
KINDS: dict[str, ModuleType] = {"update-ticket": update_ticket, "release-relation": release_relation}


def problems(kind: str, *cells: str) -> list[tuple[int, str, str, str]]:
    """(row, column, rule, error_code) of a job of `kind` whose rows carry these OriginalRow cells."""
    base = ROWS[kind]
    frame = pl.DataFrame(
        {
            "row": list(range(2, len(cells) + 2)),
            **{c: [v] * len(cells) for c, v in base.items()},
            ORIGINAL_ROW: list(cells),
        }
    )
    found = validate(frame, KINDS[kind].rules(frame.columns)).problems
    return found.select("row", "column", "rule", "error_code").rows()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_both_kinds_know_the_column(kind: str) -> None:
    """OriginalRow is a known column of each kind: the header check passes with it."""
    KINDS[kind].check_columns([ORIGINAL_ROW, *ROWS[kind]], "retry.csv")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_row_numbers_from_two_pass_and_others_are_parameter_errors(kind: str) -> None:
    """2, 10 and 18 digits pass, as does an empty cell; 1, 0, 02, -3, 2.0, ２ and 19 digits do not."""
    good = ["2", "10", "9" * 18, ""]
    bad = ["1", "0", "02", "-3", "2.0", "２", " 2", "1" + "0" * 18]
    found = problems(kind, *good, *bad)
    bad_rows = range(2 + len(good), 2 + len(good) + len(bad))
    assert found == [(r, ORIGINAL_ROW, "shape", "PARAMETER_ERROR") for r in bad_rows]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_no_column_no_rule(kind: str) -> None:
    """A job without OriginalRow gets no rule about it."""
    assert ORIGINAL_ROW_RULE not in KINDS[kind].rules(ROWS[kind])


@given(st.integers(min_value=-(10**20), max_value=10**20))
def test_vectorised_and_scalar_checks_agree_on_any_integer(number: int) -> None:
    """A whole number passes exactly when it is from 2 to 18 digits long, in both rule forms."""
    text = str(number)
    expected = 2 <= number < 10**18
    frame = pl.DataFrame({ORIGINAL_ROW: [text]})
    vectorised = not frame.select(ORIGINAL_ROW_RULE.violations(frame)).item()
    assert vectorised == ORIGINAL_ROW_RULE.check({ORIGINAL_ROW: text}) == expected


def test_update_rows_never_carry_the_column_as_a_change() -> None:
    """An update row's changes leave OriginalRow out: it is bookkeeping, never sent."""
    cells = {**ROWS["update-ticket"], ORIGINAL_ROW: "7"}
    frame = pl.DataFrame({"row": [2], **{c: [v] for c, v in cells.items()}})
    (row,) = update_ticket.items(frame)
    assert row.changes == {"Priority": "高"}
