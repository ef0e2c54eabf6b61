"""update-ticket rules after the fetch (the merged update), and vectorised/scalar agreement."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs import update_ticket as kind


def job(*rows: dict[str, str]) -> pl.DataFrame:
    """A job frame from rows, numbered from spreadsheet row 2."""
    columns = list(dict.fromkeys(c for r in rows for c in r))
    data = {c: [r.get(c, "") for r in rows] for c in columns}
    return pl.DataFrame({"row": list(range(2, len(rows) + 2)), **data})


def test_rules_are_shared_with_the_merged_update_check() -> None:
    """The merged-update rules reuse the job file's rule objects for each field."""
    job_rules = {id(r) for r in kind.rules(["TicketId", "Title", "StateCode", "FinishApprovalUserId"])}
    update_rules = {id(r) for r in kind.update_rules()}
    shared = [r for r in kind.rules(["TicketId", "Title", "StateCode"]) if id(r) in update_rules]
    assert {r.name for r in shared} >= {
        "max_chars",
        "choice",
        "choice_for_kind",
        "approver_only_when_closing",
    }
    assert job_rules & update_rules


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        ({"TicketProcessType": "1", "StateCode": "クローズ", "FinishApprovalUserId": "SA1"}, set()),
        ({"TicketProcessType": "1", "StateCode": "クローズ承認待ち"}, {"approver_required_when_closing"}),
        (
            {"TicketProcessType": "1", "StateCode": "対応中", "FinishApprovalUserId": "SA1"},
            {"approver_only_when_closing"},
        ),
        ({"TicketProcessType": "1", "StateCode": "対応中", "SupportedGroup": ""}, {"group_unless_closed"}),
        ({"TicketProcessType": "2", "StateCode": "復旧済み"}, {"choice_for_kind"}),
        ({"TicketProcessType": "2", "Importance": "高"}, {"field_for_kind"}),
    ],
)
def test_merged_update_checks(update: dict[str, str], expected: set[str]) -> None:
    """After the fetch, conditional rules see the whole update (D3: the approver, the group)."""
    complete = {
        "TicketId": "UTM1",
        "SupportedGroup": "お客様",
        "Priority": "高",
        "CorrespondLimitDate": "20240101000000",
        "Category": "c",
        "AssignUserId": "SA1",
        "Importance": "高",
        "ManagementGroupId": "m",
        "CauseClassification": "c",
    }
    if update["TicketProcessType"] == "2":
        del complete["Importance"], complete["CauseClassification"]
    found = kind.check_update({**complete, **update})
    assert {v.rule for v in found} == expected


def test_merged_update_requires_the_kinds_required_fields() -> None:
    """An incident update without Importance is PARAMETER_REQUIRED, a request one is not asked for it."""
    found = kind.check_update({"TicketId": "UTM1", "TicketProcessType": "1", "StateCode": "クローズ"})
    assert {(v.column, v.error_code) for v in found if v.rule == "required"} >= {
        ("Importance", "PARAMETER_REQUIRED"),
        ("Priority", "PARAMETER_REQUIRED"),
    }
    request = kind.check_update({"TicketId": "UTM2", "TicketProcessType": "2"})
    assert "Importance" not in {v.column for v in request}


# Cells that hit the rules' edges.
VALUES = st.sampled_from(
    ["", "UTM1", "X", "1", "2", "3", "クローズ", "対応中", "復旧済み", "新規", "高", "他", "SA1", "uom1",
     "20240229000000", "20230229000000", "Title", "Category; Title", "SupportedGroup", "FinishApprovalUserId",
     '[{"CorrespondProcess":"a"}]', '[{"CorrespondProcessOperationClass":"2"}]', "[", "0", "x" * 16]
)  # fmt: skip
COLUMNS = [
    "TicketId", "TicketProcessType", "StateCode", "FinishApprovalUserId", "Priority", "Title", "Category",
    "ClearFields", "expect.StateCode", "ServiceCode", "CorrespondLimitDate", "CorrespondProcessSeq",
    "CorrespondProcessOperationClass", "CorrespondProcess", "CorrespondProcessList",
]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(st.fixed_dictionaries(dict.fromkeys(COLUMNS, VALUES)), min_size=1, max_size=15))
def test_every_update_ticket_rule_agrees_with_its_scalar_form(rows: list[dict[str, str]]) -> None:
    """For each rule of the kind, vectorised verdicts equal the scalar check on each row."""
    data = job(*rows)
    for rule in kind.rules(COLUMNS):
        vector = data.select(rule.violations(data)).to_series().to_list()
        assert vector == [not rule.check(r) for r in rows], (rule.name, rule.column)
