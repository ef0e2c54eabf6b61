"""The rejects file's formula guard, vectorised, against the scalar guard the ledger uses."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from batch.output.files import FORMULA_STARTS, neutralise
from batch.output.rejects import neutralised

CELL = st.one_of(
    st.builds(
        lambda c, rest: c + rest, st.sampled_from([*FORMULA_STARTS, "'", " ", "a", "\n"]), st.text(max_size=5)
    ),
    st.text(max_size=6),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(CELL, min_size=1, max_size=30))
def test_rejects_guard_equals_the_scalar_guard(cells: list[str]) -> None:
    """Every cell gets a leading ' exactly when `neutralise` would give it one."""
    guarded = pl.DataFrame({"A": cells}).select(neutralised("A")).to_series().to_list()
    assert guarded == [neutralise(c) for c in cells]
