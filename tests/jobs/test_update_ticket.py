"""update-ticket: its columns, every rule (with boundaries), the merged-update rules, and its rows."""

from __future__ import annotations

import polars as pl
import pytest

from batch.errors import JobFileError
from batch.validation.check import validate
from jobs import update_ticket as kind
from jobs.update_ticket import UpdateRow


def job(*rows: dict[str, str]) -> pl.DataFrame:
    """A job frame from rows (missing cells empty), numbered from spreadsheet row 2."""
    columns = list(dict.fromkeys(c for r in rows for c in r))
    data = {c: [r.get(c, "") for r in rows] for c in columns}
    return pl.DataFrame({"row": list(range(2, len(rows) + 2)), **data})


def problems(*rows: dict[str, str]) -> list[tuple[int, str, str, str]]:
    """(row, column, rule, error_code) of every problem in a job of `rows`."""
    data = job(*rows)
    found = validate(data, kind.rules(data.columns)).problems
    return found.select("row", "column", "rule", "error_code").rows()


def rules_broken(cells: dict[str, str]) -> set[str]:
    """The rule names one row (with a TicketId) breaks."""
    return {rule for _, _, rule, _ in problems({"TicketId": "UTM1", **cells})}


def test_known_columns_pass() -> None:
    """Fields of either ticket kind, memo columns, expect.<Field>, ClearFields and Action are known."""
    kind.check_columns(
        [
            "TicketId",
            "Importance",
            "Urgency",
            "expect.StateCode",
            "ClearFields",
            "CorrespondProcessList",
            "Action",
            "ServiceCode",
            "MasterID",
        ],
        "j.csv",
    )


def test_unknown_column_is_named_with_suggestion() -> None:
    """An unknown column is a JobFileError naming it and the nearest known name."""
    with pytest.raises(
        JobFileError, match=r"j\.csv: unknown column 'Statecode' \(did you mean 'StateCode'\?\)"
    ):
        kind.check_columns(["TicketId", "Statecode"], "j.csv")


def test_missing_ticket_id_column() -> None:
    """A file without TicketId is refused."""
    with pytest.raises(JobFileError, match="missing required column 'TicketId'"):
        kind.check_columns(["StateCode"], "j.csv")


def test_timestamp_columns_are_refused() -> None:
    """Concurrency timestamps are never taken from the job file."""
    with pytest.raises(JobFileError, match="'StateUpdateDate' is a concurrency timestamp"):
        kind.check_columns(["TicketId", "StateUpdateDate"], "j.csv")
    with pytest.raises(JobFileError, match=r"unknown column 'expect\.DetailUpdateDate'"):
        kind.check_columns(["TicketId", "expect.DetailUpdateDate"], "j.csv")


def test_ticket_id_rules() -> None:
    """TicketId: required, UTM + digits, at most 15 characters."""
    assert problems({"TicketId": "", "Priority": "高"}) == [(2, "TicketId", "required", "PARAMETER_REQUIRED")]
    assert rules_broken({"TicketId": "IM123"}) == {"shape"}
    assert problems({"TicketId": "UTM" + "1" * 12}, {"TicketId": "UTM" + "1" * 13}) == [
        (3, "TicketId", "max_chars", "PARAMETER_TOO_LONG")
    ]


def test_identity_columns() -> None:
    """TicketProcessType is 1 or 2; ServiceCode uom…, MasterID SA…, each at most 15 characters."""
    assert rules_broken({"TicketProcessType": "3"}) == {"choice"}
    assert rules_broken({"ServiceCode": "svc1", "MasterID": "SA12"}) == {"shape"}
    assert rules_broken({"ServiceCode": "uom" + "1" * 12, "MasterID": "SA" + "1" * 13}) == set()
    assert rules_broken({"ServiceCode": "uom" + "1" * 13}) == {"max_chars"}


@pytest.mark.parametrize(
    ("column", "limit"),
    [
        ("Title", 256),
        ("Influence", 2048),
        ("NodeName", 1024),
        ("EventId", 254),
        ("RepresentativeCustomerName", 200),
        ("AssignUserId", 15),
    ],
)
def test_character_limits_at_and_past(column: str, limit: int) -> None:
    """Exactly at the limit passes, one character more is PARAMETER_TOO_LONG (CJK counts one)."""
    at = "SA" + "1" * (limit - 2) if column == "AssignUserId" else "障" * limit
    found = problems({"TicketId": "UTM1", column: at}, {"TicketId": "UTM2", column: at + "1"})
    assert found == [(3, column, "max_chars", "PARAMETER_TOO_LONG")]


@pytest.mark.parametrize("column", ["RelatedSystem", "RelatedCI", "DetectionMessage", "RequestContents"])
def test_byte_limits_at_and_past(column: str) -> None:
    """The 65535Byte fields count UTF-8 bytes: 21845 CJK pass, one more byte does not."""
    at = "障" * 21845
    found = problems({"TicketId": "UTM1", column: at}, {"TicketId": "UTM2", column: at + "a"})
    assert found == [(3, column, "max_bytes", "PARAMETER_TOO_LONG")]


def test_choice_lists() -> None:
    """Priority, Importance, SupportedGroup, AcceptWay: their lists (D11), exact strings."""
    assert rules_broken({"Priority": "高", "Importance": "低", "SupportedGroup": "お客様"}) == set()
    assert rules_broken({"Priority": "他"}) == {"choice"}
    assert rules_broken({"SupportedGroup": "情シス"}) == {"choice"}
    assert rules_broken({"AcceptWay": "FAX"}) == {"choice"}


def test_state_code_depends_on_kind() -> None:
    """StateCode: 復旧済み only for incidents, 新規 only for requests; unknown kind: either list."""
    assert rules_broken({"StateCode": "復旧済み"}) == set()
    assert rules_broken({"StateCode": "新規"}) == set()
    assert rules_broken({"StateCode": "復旧済み", "TicketProcessType": "2"}) == {"choice_for_kind"}
    assert rules_broken({"StateCode": "新規", "TicketProcessType": "1"}) == {"choice_for_kind"}
    assert rules_broken({"StateCode": "完了"}) == {"choice"}
    assert rules_broken({"StateCode": "完了", "TicketProcessType": "1"}) == {"choice_for_kind"}


def test_fields_of_the_other_kind() -> None:
    """A field only the other kind's table has is refused when the row gives its type."""
    assert rules_broken({"Importance": "高", "TicketProcessType": "2"}) == {"field_for_kind"}
    assert rules_broken({"Urgency": "高", "TicketProcessType": "1"}) == {"field_for_kind"}
    assert rules_broken({"Importance": "高", "Urgency": "高"}) == set()


def test_dates_are_real_calendar_times() -> None:
    """Date fields take YYYYMMDDhhmmss naming a real time."""
    assert rules_broken({"CorrespondLimitDate": "20240229235959"}) == set()
    assert rules_broken({"CorrespondLimitDate": "20230229000000"}) == {"datetime"}
    assert rules_broken({"RequestDate": "2024-01-01"}) == {"datetime"}
    assert rules_broken({"CorrespondStartDate": "202401010000000"}) == {"datetime", "max_chars"}


def test_approver_only_with_a_closing_state() -> None:
    """FinishApprovalUserId with a StateCode that is not closing is refused; closing or unknown passes."""
    assert rules_broken({"StateCode": "対応中", "FinishApprovalUserId": "SA1"}) == {
        "approver_only_when_closing"
    }
    assert rules_broken({"StateCode": "クローズ", "FinishApprovalUserId": "SA1"}) == set()
    assert rules_broken({"StateCode": "クローズ承認待ち", "FinishApprovalUserId": "SA1"}) == set()
    assert rules_broken({"FinishApprovalUserId": "SA1"}) == set()  # the ticket's state decides (D3)
    assert rules_broken({"StateCode": "クローズ"}) == set()  # the ticket's approver may carry over


def test_clear_fields_rules() -> None:
    """ClearFields names optional fields only, never one the row sets, never what the state needs."""
    assert rules_broken({"ClearFields": "SubStateCode; Cause,NodeName"}) == set()
    assert rules_broken({"ClearFields": "TicketId"}) == {"clear_fields_known"}
    assert rules_broken({"ClearFields": "Priority"}) == {"clear_fields_known"}
    assert rules_broken({"ClearFields": "Title", "Title": "x"}) == {"clear_conflict"}
    assert rules_broken({"ClearFields": "SupportedGroup", "StateCode": "対応中"}) == {
        "clear_group_not_closed"
    }
    assert rules_broken({"ClearFields": "SupportedGroup", "StateCode": "クローズ"}) == set()
    assert rules_broken({"ClearFields": "FinishApprovalUserId", "StateCode": "クローズ"}) == {
        "clear_approver_closing"
    }
    assert rules_broken({"ClearFields": "Category", "TicketProcessType": "2"}) == {"clear_for_kind"}
    assert rules_broken({"ClearFields": "Category", "TicketProcessType": "1"}) == set()


MEMO = {"seq": "CorrespondProcessSeq", "cls": "CorrespondProcessOperationClass", "text": "CorrespondProcess"}
LIST = "CorrespondProcessList"


def test_expect_columns_use_the_field_rules_without_required() -> None:
    """expect.<Field> is checked like <Field>; an empty expect cell is no precondition."""
    assert rules_broken({"expect.StateCode": "復旧済み", "expect.Priority": ""}) == set()
    assert rules_broken({"expect.Priority": "他"}) == {"choice"}
    assert rules_broken({"expect.Title": "x" * 257}) == {"max_chars"}
    found = problems({"TicketId": "UTM1", "expect.StateCode": "新規", "TicketProcessType": "1"})
    assert found == [(2, "expect.StateCode", "choice_for_kind", "PARAMETER_ERROR")]


def test_a_value_is_never_a_command() -> None:
    """null, NA, N/A, -, 0, TRUE are values to store: valid, and sent as given."""
    words = ["null", "NA", "N/A", "-", "0", "TRUE"]
    rows = [{"TicketId": f"UTM{i}", "Title": w} for i, w in enumerate(words)]
    data = job(*rows)
    result = validate(data, kind.rules(data.columns))
    assert result.problems.height == 0
    assert [r.changes for r in kind.items(result.valid)] == [{"Title": w} for w in words]


def test_items_carry_every_part_of_a_row() -> None:
    """UpdateRow: changes without memo/expect/clear/identity columns, clear, memos, expect, identity."""
    data = job(
        {
            "TicketId": "UTM1",
            "TicketProcessType": "1",
            "ServiceCode": "uom1",
            "MasterID": "SA9",
            "StateCode": "クローズ",
            "Priority": "",
            "ClearFields": "Cause; NodeName",
            "expect.StateCode": "復旧済み",
            MEMO["text"]: "メモ",
            "Action": "update-ticket",
        },
        {"TicketId": "UTM2", LIST: '[{"CorrespondProcessSeq":"3","CorrespondProcessOperationClass":"2"}]'},
    )
    first, second = kind.items(data)
    assert first == UpdateRow(
        row=2,
        ticket_id="UTM1",
        changes={"StateCode": "クローズ"},
        clear=("Cause", "NodeName"),
        memo_ops=({MEMO["seq"]: "", MEMO["cls"]: "0", MEMO["text"]: "メモ"},),
        expect={"StateCode": "復旧済み"},
        ticket_kind="1",
        service_code="uom1",
        master_id="SA9",
    )
    assert second == UpdateRow(
        row=3,
        ticket_id="UTM2",
        changes={},
        memo_ops=({MEMO["seq"]: "3", MEMO["cls"]: "2", MEMO["text"]: ""},),
    )


def test_items_stream_in_file_order_across_slices() -> None:
    """items() yields every row once, in file order, across several slices."""
    count = kind.SLICE_ROWS * 2 + 5
    data = pl.DataFrame({"row": range(2, count + 2), "TicketId": [f"UTM{i}" for i in range(count)]})
    rows = kind.items(data)
    assert next(rows).row == 2
    assert [r.row for r in rows] == list(range(3, count + 2))
