"""The pure read-modify-write logic: merge, diff, preconditions and the landed-already check."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batch.errors import RowInvalid
from batch.uom.spec import INCIDENT_FIELDS, REQUEST_FIELDS
from batch.uom.ticket import TicketDetail
from jobs.ticket_merge import has_landed, intent_for, merge, unmet_expectations

STAMPS6 = {
    "StateInsertDate": "20240101000000", "StateUpdateDate": "20240102000000",
    "SummaryInsertDate": "20240101000000", "SummaryUpdateDate": "20240102000000",
    "CorrespondInsertDate": "", "CorrespondUpdateDate": "",
}


@dataclass(frozen=True)
class Row:
    changes: dict[str, str] = field(default_factory=dict)
    clear: tuple[str, ...] = ()
    memo_ops: tuple[dict[str, str], ...] = ()


def incident(**overrides: str) -> TicketDetail:
    fields = {
        "RequestId": "r-1", "TicketId": "UTM1000001", "TicketProcessType": "1", "MasterTicketId": "",
        "Title": "t", "StateCode": "復旧済み", "Priority": "中", "SupportedGroup": "お客様",
        "AssignUser": "SA1234567", "CorrespondLimitDate": "20240301000000", "Importance": "高",
        "ManagementGroupId": "制限しない", "CauseClassification": "性能不足", "FinishApprovalUserId": "",
        **STAMPS6, **overrides,
    }
    return TicketDetail.from_response(fields)


def request(**overrides: str) -> TicketDetail:
    fields = {
        "RequestId": "r-2", "TicketId": "UTM2000001", "TicketProcessType": "2", "StateCode": "新規",
        "Priority": "低", "CorrespondLimitDate": "20240301000000", "Category": "c",
        **STAMPS6, "DetailInsertDate": "20240101000000", "DetailUpdateDate": "", **overrides,
    }
    return TicketDetail.from_response(fields)


def test_close_sends_required_fields_stamps_and_approver() -> None:
    """A close carries the kind's required fields, every stamp verbatim, and the approver (D3)."""
    merged = merge(incident(), Row({"StateCode": "クローズ", "FinishApprovalUserId": "SA1234567"}))
    required = {n for n, f in INCIDENT_FIELDS.items() if f.required} - {"ServiceCode", "MasterID"}
    assert required <= merged.body.keys()
    assert {k: merged.body[k] for k in STAMPS6} == STAMPS6
    assert merged.body["FinishApprovalUserId"] == "SA1234567"
    assert merged.body["AssignUserId"] == "SA1234567" and "AssignUser" not in merged.body
    assert "MasterTicketId" not in merged.body and merged.body["CorrespondProcessList"] == []
    assert merged.changed == ("StateCode", "FinishApprovalUserId")
    assert merged.before == {"StateCode": "復旧済み", "FinishApprovalUserId": ""}


def test_same_values_are_unchanged() -> None:
    """A row whose values already hold is unchanged: nothing to send."""
    assert merge(incident(), Row({"Priority": "中", "StateCode": "復旧済み"})).unchanged


def test_memo_add_is_never_unchanged() -> None:
    """A memo add always makes an update (edits and deletes that hold do not: test_memo_satisfied)."""
    op = {"CorrespondProcessSeq": "", "CorrespondProcessOperationClass": "0", "CorrespondProcess": "x"}
    merged = merge(incident(), Row(memo_ops=(op,)))
    assert not merged.unchanged and merged.body["CorrespondProcessList"] == [op]


def test_approver_kept_on_awaiting_close_ticket() -> None:
    """D3: a Priority edit on a クローズ承認待ち ticket carries the fetched approver."""
    ticket = incident(StateCode="クローズ承認待ち", FinishApprovalUserId="SA2345678")
    assert merge(ticket, Row({"Priority": "高"})).body["FinishApprovalUserId"] == "SA2345678"


def test_old_approver_not_sent_on_sent_back_ticket() -> None:
    """D3: a ticket in 差し戻し that still holds an old approver sends none."""
    ticket = incident(StateCode="差し戻し", FinishApprovalUserId="SA2345678")
    assert "FinishApprovalUserId" not in merge(ticket, Row({"Priority": "高"})).body


def test_close_without_any_approver_is_invalid() -> None:
    """D3: closing with neither the row's nor the ticket's approver is invalid, nothing sent."""
    with pytest.raises(RowInvalid, match="FinishApprovalUserId"):
        merge(incident(), Row({"StateCode": "クローズ"}))


def test_approver_without_closing_is_invalid() -> None:
    """An approver given while the ticket stays open is invalid."""
    with pytest.raises(RowInvalid, match="only when"):
        merge(incident(), Row({"FinishApprovalUserId": "SA1234567"}))


def test_request_has_no_memo_list_without_memos_and_eight_stamps() -> None:
    """D4: requests omit an empty memo list; they carry the two Detail stamps as well."""
    merged = merge(request(), Row({"Priority": "高"}))
    assert "CorrespondProcessList" not in merged.body
    assert merged.body["DetailUpdateDate"] == "" and merged.body["DetailInsertDate"] == "20240101000000"
    assert set(merged.body) <= set(REQUEST_FIELDS)


def test_incident_only_field_on_request_is_invalid() -> None:
    """Importance (an incident field) on a request ticket is refused before sending."""
    with pytest.raises(RowInvalid, match="Importance"):
        merge(request(), Row({"Importance": "高"}))


def test_clear_sends_empty_string() -> None:
    """A cleared optional field is sent as "" and recorded as changed."""
    merged = merge(incident(Category="HW障害"), Row(clear=("Category",)))
    assert merged.body["Category"] == "" and merged.after == {"Category": ""}


def test_expectations_compare_live_values_with_renames() -> None:
    """expect.<Field> compares with the live ticket under UpdateTicket's names."""
    ticket = incident()
    assert unmet_expectations(ticket, {"StateCode": "復旧済み", "AssignUserId": "SA1234567"}) == {}
    assert unmet_expectations(ticket, {"StateCode": "対応中"}) == {"StateCode": "復旧済み"}


def test_landed_check() -> None:
    """A refetch with new stamps, the after-values and the added memo means it landed."""
    before = incident()
    op = {"CorrespondProcessSeq": "", "CorrespondProcessOperationClass": "0", "CorrespondProcess": "m"}
    merged = merge(before, Row({"Priority": "高"}, memo_ops=(op,)))
    intent = intent_for(before, merged)
    assert not has_landed(intent, before)
    after = {**before.fields, "Priority": "高", "SummaryUpdateDate": "20240103000000",
             "CorrespondProcessList": [{"CorrespondProcessSeq": "1", "CorrespondProcess": "m"}]}
    assert has_landed(intent, TicketDetail.from_response(after))
    other = {**after, "CorrespondProcessList": []}
    assert not has_landed(intent, TicketDetail.from_response(other))


@given(st.dictionaries(st.sampled_from(["Title", "Priority", "Cause", "NodeName"]),
                       st.text(max_size=30), max_size=4))
def test_changed_is_exactly_the_differing_set_fields(changes: dict[str, str]) -> None:
    """changed lists exactly the set fields whose value differs from the ticket's."""
    ticket = incident(Cause="c")
    merged = merge(ticket, Row(changes))
    live = {"Title": "t", "Priority": "中", "Cause": "c", "NodeName": ""}
    assert set(merged.changed) == {f for f, v in changes.items() if live[f] != v}
    assert all(merged.body[f] == v for f, v in changes.items())
