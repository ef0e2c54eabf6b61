"""The client against the emulator over real sockets: every action, every error row, every fault."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from batch.uom import errors
from batch.uom.client import UomClient
from batch.uom.emulator import SECOND_CREDENTIALS, Emulator, ManualClock
from batch.uom.emulator import Credentials as EmuCredentials
from batch.uom.spec import Msg
from batch.uom.ticket import TicketDetail
from jobs.ticket_merge import merge

from .conftest import credentials_for

SECRET = "1234567890ABCDEFGHIJabcdefghijklmnopqr+1"


class Row:
    """A minimal row for merge(): changes only."""

    def __init__(self, **changes: str) -> None:
        self.changes, self.clear, self.memo_ops = changes, (), ()


async def _body(client: UomClient, ticket_id: str, **changes: str) -> dict[str, Any]:
    ticket = await client.get_ticket_detail(ticket_id)
    return merge(ticket, Row(**changes)).body


async def test_get_ticket_detail_incident(client: UomClient) -> None:
    """GetTicketDetail gives the ticket's kind, stamps, memos and relation (D1)."""
    ticket = await client.get_ticket_detail("UTM1000061")
    assert ticket.kind.value == "1" and len(ticket.timestamps) == 6
    assert ticket.master_ticket_id == "UTM1000091"
    assert ticket.fields["AssignUser"].startswith("SA")


async def test_get_ticket_detail_request(client: UomClient) -> None:
    """A request ticket carries eight stamps."""
    ticket = await client.get_ticket_detail("UTM2000001")
    assert ticket.kind.value == "2" and "DetailUpdateDate" in ticket.timestamps


async def test_update_then_refetch_shows_change_and_new_stamps(client: UomClient) -> None:
    """An update lands, and the ticket's stamps move on."""
    before = await client.get_ticket_detail("UTM1000061")
    request_id = await client.update_ticket(merge(before, Row(Priority="高", Title="新しい件名")).body)
    after = await client.get_ticket_detail("UTM1000061")
    assert len(request_id.split("-")) == 5
    assert after.fields["Priority"] == "高" and after.fields["Title"] == "新しい件名"
    assert after.timestamps != before.timestamps


async def test_conflict_from_two_clients_racing(emu: Emulator, clock: ManualClock) -> None:
    """Two clients read the same ticket; the second update gets EXCLUSION_FAILURE."""
    async with UomClient(credentials_for(emu.url), now=clock.now) as a, \
            UomClient(credentials_for(emu.url), now=clock.now) as b:
        ticket_a = await a.get_ticket_detail("UTM1000062")
        ticket_b = await b.get_ticket_detail("UTM1000062")
        await a.update_ticket(merge(ticket_a, Row(Priority="高")).body)
        with pytest.raises(errors.Conflict) as info:
            await b.update_ticket(merge(ticket_b, Row(Priority="低")).body)
    assert info.value.error_message == Msg.EXCLUSION and info.value.http_status == 200


def _assert_error(exc: errors.UomError, error_type: str, message: str, detail: dict[str, str] | None) -> None:
    assert (exc.error_type, exc.error_message, exc.http_status) == (error_type, message, 200)
    assert exc.error_detail == detail
    assert exc.request_id and SECRET not in str(exc) and SECRET not in repr(exc.__dict__)


ERROR_ROWS: list[tuple[str, dict[str, Any], type, str, str, dict[str, str] | None]] = [
    ("required", {"Priority": None}, errors.Refused, "PARAMETER_REQUIRED", Msg.REQUIRED,
     {"Priority": "PARAMETER_REQUIRED"}),
    ("too long", {"Title": "あ" * 257}, errors.Refused, "PARAMETER_TOO_LONG", Msg.TOO_LONG,
     {"Title": "PARAMETER_TOO_LONG"}),
    ("unknown parameter", {"TestParameter": "x"}, errors.Refused, "PARAMETER_ERROR",
     Msg.UNKNOWN_PARAMETER, {"TestParameter": "PARAMETER_ERROR"}),
    ("blank required", {"Priority": ""}, errors.Refused, "PARAMETER_ERROR", Msg.BLANK,
     {"Priority": "PARAMETER_ERROR"}),
    ("bad choice", {"Priority": "他"}, errors.Refused, "PARAMETER_ERROR", Msg.INVALID,
     {"Priority": "PARAMETER_ERROR"}),
    ("bad date", {"CorrespondLimitDate": "20240230000000"}, errors.Refused, "PARAMETER_ERROR",
     Msg.INVALID, {"CorrespondLimitDate": "PARAMETER_ERROR"}),
    ("close without approver", {"StateCode": "クローズ"}, errors.Refused, "PARAMETER_ERROR",
     Msg.APPROVER_REQUIRED, {"FinishApprovalUserId": "PARAMETER_ERROR"}),
    ("approver without close", {"FinishApprovalUserId": "SA1234567"}, errors.Refused,
     "PARAMETER_ERROR", Msg.APPROVER_NOT_ALLOWED, {"FinishApprovalUserId": "PARAMETER_ERROR"}),
    ("no support group", {"SupportedGroup": None}, errors.Refused, "PARAMETER_ERROR",
     Msg.GROUP_REQUIRED, {"SupportedGroup": "PARAMETER_ERROR"}),
    ("bad service code", {"ServiceCode": "uom99999999"}, errors.Refused, "PARAMETER_ERROR",
     Msg.BAD_ACCOUNT, {"ServiceCode": "PARAMETER_ERROR"}),
    ("no ticket", {"TicketId": "UTM9999999"}, errors.NoTicket, "NO_TICKET_ID", Msg.NO_TICKET,
     {"TicketId": "NO_TICKET_ID"}),
    ("stale stamps", {"StateUpdateDate": "20000101000000"}, errors.Conflict, "EXCLUSION_FAILURE",
     Msg.EXCLUSION, None),
]


@pytest.mark.parametrize(("name", "edit", "cls", "error_type", "message", "detail"), ERROR_ROWS,
                         ids=[r[0] for r in ERROR_ROWS])
async def test_update_ticket_error_table(
    client: UomClient, name: str, edit: dict[str, Any], cls: type, error_type: str, message: str,
    detail: dict[str, str] | None,
) -> None:
    """Each row of UpdateTicket's error table comes back as its class, type, message and detail."""
    body = {"ServiceCode": "uom12345678", "MasterID": "SA1234567", **await _body(client, "UTM1000063")}
    for key, value in edit.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    with pytest.raises(cls) as info:
        await client.call("UpdateTicket", body)
    _assert_error(info.value, error_type, message, detail)


async def test_no_roles_to_close(emu: Emulator, clock: ManualClock) -> None:
    """A master without close authority gets NO_ROLES_TO_CLOSE when closing."""
    async with UomClient(credentials_for(emu.url, SECOND_CREDENTIALS), now=clock.now) as c:
        body = await _body(c, "UTM1000001", StateCode="クローズ", FinishApprovalUserId="SA1234567")
        with pytest.raises(errors.Refused) as info:
            await c.update_ticket(body)
    _assert_error(info.value, "NO_ROLES_TO_CLOSE", Msg.NO_ROLES, {"StateCode": "NO_ROLES_TO_CLOSE"})


async def test_system_error(client: UomClient, emu: Emulator) -> None:
    """SYSTEM_ERROR (HTTP 200) is a retryable ServerError."""
    body = await _body(client, "UTM1000064", Priority="低")
    emu.script("UpdateTicket", "system_error")
    with pytest.raises(errors.ServerError) as info:
        await client.update_ticket(body)
    _assert_error(info.value, "SYSTEM_ERROR", Msg.SYSTEM, None)


@pytest.mark.parametrize(
    ("creds", "skew"),
    [
        (EmuCredentials("1234567890ABCDEFGHIJ", "wrong-secret", "uom12345678", "SA1234567"), 0),
        (EmuCredentials("UNKNOWNKEY0000000000", SECRET, "uom12345678", "SA1234567"), 0),
        (None, -2 * 3600),  # our clock 2 h behind: the Expire is already past
        (None, 25 * 3600),  # our clock 25 h ahead: the Expire is 24 h or more away
    ],
    ids=["bad signature", "unknown key", "expired", "over 24 h"],
)
async def test_auth_failures(emu: Emulator, clock: ManualClock, creds: EmuCredentials | None,
                             skew: float) -> None:
    """Bad signature, unknown key, expired and over-24 h Expire: AUTH_FAILURE, with HTTP 200."""
    creds_ = credentials_for(emu.url) if creds is None else credentials_for(emu.url, creds)
    async with UomClient(creds_, now=lambda: clock.now() + timedelta(seconds=skew)) as c:
        with pytest.raises(errors.AuthFailure) as info:
            await c.get_ticket_detail("UTM1000001")
        with pytest.raises(errors.Refused) as legacy:
            await c.release_incident_relate("UTM1000091", ["UTM1000061"])
    _assert_error(info.value, "AUTH_FAILURE", Msg.AUTH, None)
    assert (legacy.value.http_status, legacy.value.error_type) == (400, "ParameterError")


async def test_release_success(client: UomClient, emu: Emulator) -> None:
    """ReleaseIncidentRelate detaches every child of the call."""
    await client.release_incident_relate("UTM1000091", ["UTM1000061", "UTM1000062"])
    assert (await client.get_ticket_detail("UTM1000061")).master_ticket_id == ""
    assert (await client.get_ticket_detail("UTM1000063")).master_ticket_id == "UTM1000091"


async def test_release_refused_with_400(client: UomClient) -> None:
    """A child of another master gets HTTP 400 ParameterError, and nothing changes (D6)."""
    with pytest.raises(errors.Refused) as info:
        await client.release_incident_relate("UTM1000091", ["UTM1000061", "UTM1000070"])
    assert (info.value.http_status, info.value.error_type) == (400, "ParameterError")
    assert info.value.error_message == Msg.LEGACY_PARAMETER
    assert (await client.get_ticket_detail("UTM1000061")).master_ticket_id == "UTM1000091"


async def test_release_500(client: UomClient, emu: Emulator) -> None:
    """ReleaseIncidentRelate's system error is HTTP 500 UOMWebSystemError, retryable."""
    emu.script("ReleaseIncidentRelate", "system_error")
    with pytest.raises(errors.ServerError) as info:
        await client.release_incident_relate("UTM1000091", ["UTM1000061"])
    assert (info.value.http_status, info.value.error_type) == (500, "UOMWebSystemError")


@pytest.mark.parametrize(
    ("action", "fault", "cls"),
    [
        ("GetTicketDetail", "drop_before", errors.TransportError),
        ("UpdateTicket", "drop_after", errors.OutcomeUnknown),
        ("UpdateTicket", "drop_before", errors.OutcomeUnknown),
        ("UpdateTicket", "http500", errors.ServerError),
        ("UpdateTicket", "rate_limited", errors.RateLimited),
    ],
)
async def test_faults_become_typed_errors(client: UomClient, emu: Emulator, action: str, fault: str,
                                          cls: type) -> None:
    """Dropped connections, bare 500s and 429s are typed; a lost update reply is an unknown outcome."""
    body = await _body(client, "UTM1000065", Priority="高")
    emu.script(action, fault)
    with pytest.raises(cls) as info:
        if action == "GetTicketDetail":
            await client.get_ticket_detail("UTM1000065")
        else:
            await client.update_ticket(body)
    if cls is errors.TransportError:
        assert not isinstance(info.value, errors.OutcomeUnknown)
    if cls is errors.RateLimited:
        assert info.value.retry_after_s == 1.0  # type: ignore[attr-defined]


async def test_lost_reply_update_did_land(client: UomClient, emu: Emulator) -> None:
    """drop_after applies the change and loses the reply: the refetch shows it."""
    body = await _body(client, "UTM1000066", Priority="低")
    emu.script("UpdateTicket", "drop_after")
    with pytest.raises(errors.OutcomeUnknown):
        await client.update_ticket(body)
    assert (await client.get_ticket_detail("UTM1000066")).fields["Priority"] == "低"


async def test_connection_refused_is_transport_error(clock: ManualClock) -> None:
    """Nothing listening: a TransportError (not an unknown outcome: nothing was sent)."""
    emulator = Emulator(clock=clock)
    async with emulator.running() as url:
        pass  # the port is free again now
    async with UomClient(credentials_for(url), now=clock.now) as c:
        with pytest.raises(errors.TransportError) as info:
            await c.update_ticket({"TicketProcessType": "1"})
    assert not isinstance(info.value, errors.OutcomeUnknown)


async def test_manual_sample_request_is_accepted(client: UomClient, emu: Emulator) -> None:
    """The UpdateTicket page's sample request, slips fixed, is accepted through the client."""
    ticket = await client.get_ticket_detail("UTM1000001")
    seqs = [m.seq for m in ticket.memos]
    sample = {
        "TicketId": "UTM1000001", "TicketProcessType": "1", **ticket.timestamps,
        "Title": "titleTest", "StateCode": "クローズ", "SubStateCode": "クローズ", "Priority": "中",
        "SupportedGroup": "お客様", "AssignUserId": "SA1234567", "CorrespondLimitDate": "20220801000000",
        "FinishApprovalUserId": "SA1234567", "Importance": "中", "ManagementGroupId": "制限しない",
        "Category": "アプリ障害", "SubCategory": "", "RelatedSystem": "Asystem", "RelatedCI": "関連CI",
        "Impact": "無", "Influence": "一部顧客", "CauseClassification": "性能不足",
        "Cause": "XXのメモリが不足していたため", "ObstacleDetectionTime": "20220630132400",
        "FaultRecoveryDate": "20220630132500", "NodeName": "NODE_NAME", "EventId": "12345",
        "DetectionMessage": "XXのアラートを検知", "CorrespondStartDate": "20220630133000",
        "CorrespondFinishDate": "20220630135000",
        "CorrespondProcessList": [
            _memo("updateTest", seqs[0], "1"),
            _memo("", seqs[1], "2"),
            _memo("addTest", "", "0"),
        ],
    }
    await client.update_ticket(sample)
    after = await client.get_ticket_detail("UTM1000001")
    texts = {m.seq: m.text for m in after.memos}
    assert texts[seqs[0]] == "updateTest" and seqs[1] not in texts and "addTest" in texts.values()
    assert after.fields["StateCode"] == "クローズ"


def _memo(text: str, seq: str, op: str) -> dict[str, str]:
    return {"CorrespondProcess": text, "CorrespondProcessSeq": seq, "CorrespondProcessOperationClass": op}


async def test_client_refuses_keys_outside_the_table(client: UomClient) -> None:
    """update_ticket never sends a key the ticket kind's table lacks (e.g. AssignUser)."""
    with pytest.raises(ValueError, match="AssignUser"):
        await client.update_ticket({"TicketProcessType": "1", "AssignUser": "SA1234567"})


async def test_ticket_detail_parse_is_strict() -> None:
    """A GetTicketDetail reply without the kind's stamps is a ProtocolError."""
    with pytest.raises(errors.ProtocolError, match="StateUpdateDate"):
        TicketDetail.from_response({"RequestId": "r", "TicketId": "UTM1", "TicketProcessType": "1"})
