"""UpdateTicket's error table (uom-api.md §2.1.f): every row, with exact type, message, detail, HTTP 200."""

from __future__ import annotations

from typing import Any

import pytest

from batch.uom import spec
from batch.uom.emulator import Emulator
from batch.uom.spec import Msg

from .support import REMOVE, Api, update_body

INC = "UTM1000061"  # incident, 対応中, SupportedGroup set
REQ = "UTM2000001"  # request, 新規
RECOVERED = "UTM1000001"  # incident, 復旧済み

# (ticket, changes, ErrorType, ErrorMessage, the field ErrorDetail blames (its code = ErrorType))
Case = tuple[str, dict[str, Any], str, str, str | None]
REQUIRED, TOO_LONG, P_ERROR = "PARAMETER_REQUIRED", "PARAMETER_TOO_LONG", "PARAMETER_ERROR"


def _memo(**item: str) -> dict[str, list[dict[str, str]]]:
    """A CorrespondProcessList of one item; short keys seq/op/text."""
    names = {
        "seq": "CorrespondProcessSeq",
        "op": "CorrespondProcessOperationClass",
        "text": "CorrespondProcess",
    }
    return {"CorrespondProcessList": [{names.get(k, k): v for k, v in item.items()}]}


# A request body turned into an incident one, so that only TicketProcessType disagrees.
_AS_INCIDENT: dict[str, Any] = {
    "TicketProcessType": "1",
    "StateCode": "対応中",
    "Importance": "高",
    "ManagementGroupId": "制限しない",
    "CauseClassification": "x",
    "AssignUserId": "SA1234567",
    **dict.fromkeys(spec.REQUEST_FIELDS.keys() - spec.INCIDENT_FIELDS.keys(), REMOVE),
}


CASES: dict[str, Case] = {
    # PARAMETER_REQUIRED 必須項目が指定されていません。
    "missing Priority": (INC, {"Priority": REMOVE}, REQUIRED, Msg.REQUIRED, "Priority"),
    "missing TicketId": (INC, {"TicketId": REMOVE}, REQUIRED, Msg.REQUIRED, "TicketId"),
    "missing ServiceCode": (INC, {"ServiceCode": REMOVE}, REQUIRED, Msg.REQUIRED, "ServiceCode"),
    "missing TicketProcessType": (
        INC,
        {"TicketProcessType": REMOVE},
        REQUIRED,
        Msg.REQUIRED,
        "TicketProcessType",
    ),
    "missing stamp": (INC, {"SummaryUpdateDate": REMOVE}, REQUIRED, Msg.REQUIRED, "SummaryUpdateDate"),
    "missing request stamp": (REQ, {"DetailUpdateDate": REMOVE}, REQUIRED, Msg.REQUIRED, "DetailUpdateDate"),
    "missing incident ManagementGroupId": (
        INC,
        {"ManagementGroupId": REMOVE},
        REQUIRED,
        Msg.REQUIRED,
        "ManagementGroupId",
    ),
    "missing request Category": (REQ, {"Category": REMOVE}, REQUIRED, Msg.REQUIRED, "Category"),
    "memo without class": (INC, _memo(text="x"), REQUIRED, Msg.REQUIRED, "CorrespondProcessOperationClass"),
    "memo edit without seq": (INC, _memo(op="1", text="x"), REQUIRED, Msg.REQUIRED, "CorrespondProcessSeq"),
    # PARAMETER_TOO_LONG 最大文字数を超過しています。
    "Title 257": (INC, {"Title": "あ" * 257}, TOO_LONG, Msg.TOO_LONG, "Title"),
    "TicketId 16": (INC, {"TicketId": "UTM" + "1" * 13}, TOO_LONG, Msg.TOO_LONG, "TicketId"),
    "DetectionMessage 65536 bytes": (
        INC,
        {"DetectionMessage": "あ" * 21845 + "a"},
        TOO_LONG,
        Msg.TOO_LONG,
        "DetectionMessage",
    ),
    "memo text 2049": (
        INC,
        _memo(seq="", op="0", text="x" * 2049),
        TOO_LONG,
        Msg.TOO_LONG,
        "CorrespondProcess",
    ),
    "memo seq 10": (INC, _memo(seq="1" * 10, op="2"), TOO_LONG, Msg.TOO_LONG, "CorrespondProcessSeq"),
    # PARAMETER_ERROR 指定できないパラメータが含まれています。
    "TestParameter": (INC, {"TestParameter": "x"}, P_ERROR, Msg.UNKNOWN_PARAMETER, "TestParameter"),
    "incident field on request": (REQ, {"Importance": "高"}, P_ERROR, Msg.UNKNOWN_PARAMETER, "Importance"),
    "request field on incident": (
        INC,
        {"DetailInsertDate": ""},
        P_ERROR,
        Msg.UNKNOWN_PARAMETER,
        "DetailInsertDate",
    ),
    "AssignUser (detail name)": (
        INC,
        {"AssignUser": "SA1234567"},
        P_ERROR,
        Msg.UNKNOWN_PARAMETER,
        "AssignUser",
    ),
    "MasterTicketId": (INC, {"MasterTicketId": ""}, P_ERROR, Msg.UNKNOWN_PARAMETER, "MasterTicketId"),
    "MasterId casing": (INC, {"MasterId": "SA1234567"}, P_ERROR, Msg.UNKNOWN_PARAMETER, "MasterId"),
    "unknown memo key": (INC, _memo(op="0", text="x", Author="me"), P_ERROR, Msg.UNKNOWN_PARAMETER, "Author"),
    # PARAMETER_ERROR 空欄にできない項目が空文字で指定されています。
    "Priority blank": (INC, {"Priority": ""}, P_ERROR, Msg.BLANK, "Priority"),
    "AssignUserId blank": (INC, {"AssignUserId": ""}, P_ERROR, Msg.BLANK, "AssignUserId"),
    "request StateCode blank": (REQ, {"StateCode": ""}, P_ERROR, Msg.BLANK, "StateCode"),
    "memo add text blank": (INC, _memo(seq="", op="0", text=""), P_ERROR, Msg.BLANK, "CorrespondProcess"),
    # PARAMETER_ERROR 入力パラメータが正しく指定されていません。
    "Priority 他": (INC, {"Priority": "他"}, P_ERROR, Msg.INVALID, "Priority"),
    "StateCode 新規 on incident": (INC, {"StateCode": "新規"}, P_ERROR, Msg.INVALID, "StateCode"),
    "StateCode 復旧済み on request": (REQ, {"StateCode": "復旧済み"}, P_ERROR, Msg.INVALID, "StateCode"),
    "SupportedGroup other": (INC, {"SupportedGroup": "営業部"}, P_ERROR, Msg.INVALID, "SupportedGroup"),
    "AcceptWay other": (REQ, {"AcceptWay": "FAX"}, P_ERROR, Msg.INVALID, "AcceptWay"),
    "date Feb 30": (
        INC,
        {"CorrespondLimitDate": "20220230000000"},
        P_ERROR,
        Msg.INVALID,
        "CorrespondLimitDate",
    ),
    "date hour 24": (
        INC,
        {"CorrespondLimitDate": "20220801240000"},
        P_ERROR,
        Msg.INVALID,
        "CorrespondLimitDate",
    ),
    "date with dashes": (
        INC,
        {"ObstacleDetectionTime": "2022-08-01 00"},
        P_ERROR,
        Msg.INVALID,
        "ObstacleDetectionTime",
    ),
    "date 13 digits": (
        INC,
        {"FaultRecoveryDate": "2022080100000"},
        P_ERROR,
        Msg.INVALID,
        "FaultRecoveryDate",
    ),
    "date full-width digits": (
        INC,
        {"CorrespondLimitDate": "２０２２０８０１０００００"},
        P_ERROR,
        Msg.INVALID,
        "CorrespondLimitDate",
    ),
    "stamp not a date": (INC, {"StateInsertDate": "abcdefghijklmn"}, P_ERROR, Msg.INVALID, "StateInsertDate"),
    "AssignUserId not SA": (INC, {"AssignUserId": "XX1234567"}, P_ERROR, Msg.INVALID, "AssignUserId"),
    "RepresentativeCustomerId not SA": (
        REQ,
        {"RepresentativeCustomerId": "taro"},
        P_ERROR,
        Msg.INVALID,
        "RepresentativeCustomerId",
    ),
    "TicketId IM": (INC, {"TicketId": "IM1234567"}, P_ERROR, Msg.INVALID, "TicketId"),
    "TicketProcessType 3": (INC, {"TicketProcessType": "3"}, P_ERROR, Msg.INVALID, "TicketProcessType"),
    "TicketProcessType of other kind": (REQ, _AS_INCIDENT, P_ERROR, Msg.INVALID, "TicketProcessType"),
    "number instead of string": (INC, {"Priority": 1}, P_ERROR, Msg.INVALID, "Priority"),
    "null value": (INC, {"Title": None}, P_ERROR, Msg.INVALID, "Title"),
    "memo list not a list": (
        INC,
        {"CorrespondProcessList": {"x": "0"}},
        P_ERROR,
        Msg.INVALID,
        "CorrespondProcessList",
    ),
    "memo class 3": (INC, _memo(op="3", text="x"), P_ERROR, Msg.INVALID, "CorrespondProcessOperationClass"),
    "memo add with seq": (
        INC,
        _memo(seq="1", op="0", text="x"),
        P_ERROR,
        Msg.INVALID,
        "CorrespondProcessSeq",
    ),
    "memo edit of unknown seq": (
        INC,
        _memo(seq="99", op="1", text="x"),
        P_ERROR,
        Msg.INVALID,
        "CorrespondProcessSeq",
    ),
    "memo seq not digits": (INC, _memo(seq="a", op="2"), P_ERROR, Msg.INVALID, "CorrespondProcessSeq"),
    # PARAMETER_ERROR: the close approver (D3)
    "close without approver": (
        INC,
        {"StateCode": "クローズ"},
        P_ERROR,
        Msg.APPROVER_REQUIRED,
        "FinishApprovalUserId",
    ),
    "approval wait with blank approver": (
        INC,
        {"StateCode": "クローズ承認待ち", "FinishApprovalUserId": ""},
        P_ERROR,
        Msg.APPROVER_REQUIRED,
        "FinishApprovalUserId",
    ),
    "stored approval wait, approver dropped": (
        "UTM1000101",
        {"FinishApprovalUserId": REMOVE},
        P_ERROR,
        Msg.APPROVER_REQUIRED,
        "FinishApprovalUserId",
    ),
    "approver while 対応中": (
        INC,
        {"FinishApprovalUserId": "SA1234567"},
        P_ERROR,
        Msg.APPROVER_NOT_ALLOWED,
        "FinishApprovalUserId",
    ),
    "approver on request 新規": (
        REQ,
        {"FinishApprovalUserId": "SA1234567"},
        P_ERROR,
        Msg.APPROVER_NOT_ALLOWED,
        "FinishApprovalUserId",
    ),
    # PARAMETER_ERROR: the support group
    "no SupportedGroup while 対応中": (
        INC,
        {"SupportedGroup": REMOVE},
        P_ERROR,
        Msg.GROUP_REQUIRED,
        "SupportedGroup",
    ),
    "blank SupportedGroup while 対応中": (
        INC,
        {"SupportedGroup": ""},
        P_ERROR,
        Msg.GROUP_REQUIRED,
        "SupportedGroup",
    ),
    "no SupportedGroup on request 新規": (
        REQ,
        {"SupportedGroup": REMOVE},
        P_ERROR,
        Msg.GROUP_REQUIRED,
        "SupportedGroup",
    ),
    # PARAMETER_ERROR 指定されたSAアカウントまたはサービスコードが不正です。
    "bad ServiceCode": (INC, {"ServiceCode": "uom99999999"}, P_ERROR, Msg.BAD_ACCOUNT, "ServiceCode"),
    "unknown MasterID": (INC, {"MasterID": "SA0000000"}, P_ERROR, Msg.BAD_ACCOUNT, "MasterID"),
    # NO_TICKET_ID
    "unknown ticket": (INC, {"TicketId": "UTM9999999"}, "NO_TICKET_ID", Msg.NO_TICKET, "TicketId"),
    # EXCLUSION_FAILURE
    "stale StateUpdateDate": (
        INC,
        {"StateUpdateDate": "20200101000000"},
        "EXCLUSION_FAILURE",
        Msg.EXCLUSION,
        None,
    ),
    "stale blank stamp": (
        REQ,
        {"CorrespondUpdateDate": "20240101000000"},
        "EXCLUSION_FAILURE",
        Msg.EXCLUSION,
        None,
    ),
    # NO_ROLES_TO_CLOSE
    "close without authority": (
        RECOVERED,
        {"MasterID": "SA7654321", "StateCode": "クローズ", "FinishApprovalUserId": "SA1234567"},
        "NO_ROLES_TO_CLOSE",
        Msg.NO_ROLES,
        "StateCode",
    ),
}


@pytest.mark.parametrize("case", CASES)
async def test_error_table_row(api: Api, emu: Emulator, case: str) -> None:
    """Each documented UpdateTicket error comes back as HTTP 200 with its exact fields; nothing changes."""
    ticket_id, changes, error_type, message, detail = CASES[case]
    before = {tid: dict(t) for tid, t in emu.tickets.items() if tid == ticket_id}
    body = update_body(await api.detail(ticket_id), **changes)
    answer = await api.call("UpdateTicket", body)
    assert answer.status == 200
    assert answer.error is not None, answer.body
    expected: dict[str, Any] = {"ErrorType": error_type, "ErrorMessage": message}
    if detail is not None:
        expected["ErrorDetail"] = {detail: error_type}
    assert {k: v for k, v in answer.error.items() if k != "RequestId"} == expected
    assert {tid: emu.tickets[tid] for tid in before} == before


async def test_request_stamp_blank_is_compared_not_refused(api: Api, emu: Emulator) -> None:
    """A "" stamp is legal when the stored one is "" (the manual's sample sends one)."""
    ticket_id = next(t for t, v in emu.tickets.items() if v["CorrespondUpdateDate"] == "")
    answer = await api.update(ticket_id, Title="件名のみ変更")
    assert answer.error is None


async def test_system_error_row(api: Api, emu: Emulator) -> None:
    """SYSTEM_ERROR システムエラーが発生しました。 comes with HTTP 200 and no ErrorDetail."""
    body = update_body(await api.detail(INC), Title="x")
    emu.script("UpdateTicket", "system_error")
    answer = await api.call("UpdateTicket", body)
    assert answer.status == 200
    assert answer.error is not None
    assert {k: v for k, v in answer.error.items() if k != "RequestId"} == {
        "ErrorType": "SYSTEM_ERROR",
        "ErrorMessage": "システムエラーが発生しました。",
    }
    assert emu.tickets[INC]["Title"] != "x"


async def test_check_order_shape_before_account(api: Api) -> None:
    """A body with both a bad value and a bad account is refused for its shape first."""
    body = update_body(await api.detail(INC), Priority="他", ServiceCode="uom99999999")
    answer = await api.call("UpdateTicket", body)
    assert answer.error is not None and answer.error["ErrorDetail"] == {"Priority": "PARAMETER_ERROR"}


async def test_check_order_business_before_concurrency(api: Api) -> None:
    """A stale body that also breaks the approver rule is refused for the rule, not the stamps."""
    body = update_body(await api.detail(INC), StateCode="クローズ", StateUpdateDate="20200101000000")
    answer = await api.call("UpdateTicket", body)
    assert answer.error is not None and answer.error["ErrorMessage"] == Msg.APPROVER_REQUIRED


async def test_closing_an_already_closed_ticket_needs_no_authority(api: Api) -> None:
    """NO_ROLES_TO_CLOSE applies only when the state changes to クローズ."""
    answer = await api.update("UTM1000111", MasterID="SA7654321", Title="クローズ後の件名修正")
    assert answer.error is None
