"""GetTicketDetail (D1): the response's shape for both kinds, and its refusals (HTTP 200, D14)."""

from __future__ import annotations

from typing import Any

import pytest

from batch.uom import spec
from batch.uom.spec import Msg

from .support import Api


def _request(**changes: Any) -> dict[str, Any]:
    body = {"TicketId": "UTM1000061", "ServiceCode": "uom12345678", "MasterID": "SA1234567"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def _expected_keys(kind: spec.TicketKind) -> set[str]:
    names = {"AssignUser" if n == "AssignUserId" else n for n in spec.update_fields(kind)}
    return (names - {"ServiceCode", "MasterID"}) | {"RequestId", "MasterTicketId", spec.MEMO_LIST}


async def test_incident_shape(api: Api) -> None:
    """An incident comes back flat: every incident field, AssignUser, 6 stamps, MasterTicketId, memos."""
    ticket = await api.detail("UTM1000061")
    assert set(ticket) == _expected_keys(spec.TicketKind.INCIDENT)
    assert ticket["TicketProcessType"] == "1"
    assert ticket["MasterTicketId"] == "UTM1000091"
    assert all(isinstance(ticket[n], str) for n in spec.COMMON_TIMESTAMPS)
    assert all(set(m) == {"CorrespondProcessSeq", "CorrespondProcess"} for m in ticket[spec.MEMO_LIST])


async def test_request_shape(api: Api) -> None:
    """A request comes back with the request fields and 8 stamps, and no incident-only field."""
    ticket = await api.detail("UTM2000004")
    assert set(ticket) == _expected_keys(spec.TicketKind.REQUEST)
    assert {"DetailInsertDate", "DetailUpdateDate"} <= set(ticket) and "Importance" not in ticket
    assert ticket["MasterTicketId"] == ""


async def test_detail_is_read_only(api: Api) -> None:
    """Reading a ticket changes none of its stamps."""
    first = await api.detail("UTM1000001")
    second = await api.detail("UTM1000001")
    assert {k: v for k, v in first.items() if k != "RequestId"} == {
        k: v for k, v in second.items() if k != "RequestId"
    }
    assert first["RequestId"] != second["RequestId"]


# (body, ErrorType, ErrorMessage, the field ErrorDetail blames with the ErrorType as its code)
CASES: dict[str, tuple[dict[str, Any], str, str, str]] = {
    "unknown key": (
        _request(TicketProcessType="1"),
        "PARAMETER_ERROR",
        Msg.UNKNOWN_PARAMETER,
        "TicketProcessType",
    ),
    "MasterId casing": (
        _request(MasterID=None, MasterId="SA1234567"),
        "PARAMETER_ERROR",
        Msg.UNKNOWN_PARAMETER,
        "MasterId",
    ),
    "missing TicketId": (_request(TicketId=None), "PARAMETER_REQUIRED", Msg.REQUIRED, "TicketId"),
    "missing MasterID": (_request(MasterID=None), "PARAMETER_REQUIRED", Msg.REQUIRED, "MasterID"),
    "blank TicketId": (_request(TicketId=""), "PARAMETER_ERROR", Msg.BLANK, "TicketId"),
    "too long": (_request(TicketId="UTM" + "1" * 13), "PARAMETER_TOO_LONG", Msg.TOO_LONG, "TicketId"),
    "not UTM": (_request(TicketId="IM1234567"), "PARAMETER_ERROR", Msg.INVALID, "TicketId"),
    "bad service code": (
        _request(ServiceCode="uom00000000"),
        "PARAMETER_ERROR",
        Msg.BAD_ACCOUNT,
        "ServiceCode",
    ),
    "unknown master": (_request(MasterID="SA9876543"), "PARAMETER_ERROR", Msg.BAD_ACCOUNT, "MasterID"),
    "unknown ticket": (_request(TicketId="UTM1"), "NO_TICKET_ID", Msg.NO_TICKET, "TicketId"),
}


@pytest.mark.parametrize("case", CASES)
async def test_refusals(api: Api, case: str) -> None:
    """GetTicketDetail's refusals follow UpdateTicket's table, with HTTP 200."""
    body, error_type, message, field = CASES[case]
    answer = await api.call("GetTicketDetail", body)
    assert answer.status == 200
    assert answer.error is not None
    assert (answer.error["ErrorType"], answer.error["ErrorMessage"]) == (error_type, message)
    assert answer.error["ErrorDetail"] == {field: error_type}
