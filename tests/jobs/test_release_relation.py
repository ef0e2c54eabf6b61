"""release-relation: its columns, rules (with boundaries) and rows."""

from __future__ import annotations

import polars as pl
import pytest

from batch.errors import JobFileError
from batch.validation.check import validate
from jobs import release_relation as kind
from jobs.release_relation import ReleaseRow


def job(*rows: dict[str, str]) -> pl.DataFrame:
    """A job frame from rows (missing cells empty), numbered from spreadsheet row 2."""
    columns = list(dict.fromkeys(c for r in rows for c in r))
    data = {c: [r.get(c, "") for r in rows] for c in columns}
    return pl.DataFrame({"row": list(range(2, len(rows) + 2)), **data})


def problems(*rows: dict[str, str]) -> list[tuple[int, str, str, str]]:
    """(row, column, rule, error_code) of every problem."""
    data = job(*rows)
    return (
        validate(data, kind.rules(data.columns)).problems.select("row", "column", "rule", "error_code").rows()
    )


PAIR = {"MasterIncidentId": "UTM1000091", "IncidentId": "UTM1000061"}


def test_columns_known_missing_and_refused() -> None:
    """Both ids are required columns; OfficeId/Locale are fixed; MasterID suggests MasterId."""
    kind.check_columns(["MasterIncidentId", "IncidentId", "ServiceCode", "MasterId", "Action"], "j.csv")
    with pytest.raises(JobFileError, match="missing required column 'IncidentId'"):
        kind.check_columns(["MasterIncidentId"], "j.csv")
    with pytest.raises(JobFileError, match="'OfficeId' is fixed by the API"):
        kind.check_columns([*PAIR, "OfficeId"], "j.csv")
    with pytest.raises(JobFileError, match=r"unknown column 'MasterID' \(did you mean 'MasterId'\?\)"):
        kind.check_columns([*PAIR, "MasterID"], "j.csv")


def test_a_valid_pair_passes() -> None:
    """A master and a child, both UTM + digits, pass."""
    assert problems(PAIR, {**PAIR, "ServiceCode": "uom12345678", "MasterId": "SA1234567"}) == []


def test_ids_required_shaped_and_bounded() -> None:
    """Ids are required, UTM + digits, at most 15 characters (15 passes, 16 does not)."""
    assert problems({"MasterIncidentId": "", "IncidentId": "UTM1"}) == [
        (2, "MasterIncidentId", "required", "PARAMETER_REQUIRED")
    ]
    assert problems({"MasterIncidentId": "UTM1", "IncidentId": "IM1234567"}) == [
        (2, "IncidentId", "shape", "PARAMETER_ERROR")
    ]
    at, over = "UTM" + "1" * 12, "UTM" + "1" * 13
    assert problems(
        {"MasterIncidentId": "UTM1", "IncidentId": at}, {"MasterIncidentId": over, "IncidentId": "UTM2"}
    ) == [(3, "MasterIncidentId", "max_chars", "PARAMETER_TOO_LONG")]


def test_account_columns_are_checked() -> None:
    """ServiceCode uom…, MasterId SA… when given."""
    found = problems({**PAIR, "ServiceCode": "abc", "MasterId": "XX1"})
    assert found == [
        (2, "ServiceCode", "shape", "PARAMETER_ERROR"),
        (2, "MasterId", "shape", "PARAMETER_ERROR"),
    ]


def test_a_ticket_is_not_its_own_child() -> None:
    """A row whose child is its master is refused."""
    assert problems({"MasterIncidentId": "UTM5", "IncidentId": "UTM5"}) == [
        (2, "IncidentId", "child_is_master", "PARAMETER_ERROR")
    ]


def test_items_in_file_order() -> None:
    """ReleaseRow per valid row, in file order, account columns None when empty."""
    data = job(
        PAIR,
        {
            "MasterIncidentId": "UTM1000091",
            "IncidentId": "UTM1000062",
            "ServiceCode": "uom1",
            "MasterId": "SA2",
        },
    )
    assert list(kind.items(data)) == [
        ReleaseRow(2, "UTM1000091", "UTM1000061"),
        ReleaseRow(3, "UTM1000091", "UTM1000062", service_code="uom1", master_id_account="SA2"),
    ]


def test_items_stream_across_slices() -> None:
    """Every row comes once, in order, across slices."""
    count = kind.SLICE_ROWS + 3
    data = pl.DataFrame(
        {
            "row": range(2, count + 2),
            "MasterIncidentId": ["UTM1"] * count,
            "IncidentId": [f"UTM{i + 2}" for i in range(count)],
        }
    )
    assert [r.row for r in kind.items(data)] == list(range(2, count + 2))
