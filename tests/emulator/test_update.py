"""UpdateTicket success: fields stored as sent, memos, strictly increasing stamps, the manual's sample."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from batch.uom.emulator import Emulator, ManualClock, generate_tickets

from .support import REMOVE, Api, update_body

SEQ, TEXT, CLASS = "CorrespondProcessSeq", "CorrespondProcess", "CorrespondProcessOperationClass"
UPDATE_STAMPS = ("StateUpdateDate", "SummaryUpdateDate", "CorrespondUpdateDate")


async def test_fields_are_stored_as_sent(api: Api, emu: Emulator) -> None:
    """An accepted update stores each sent field verbatim; AssignUserId is read back as AssignUser."""
    answer = await api.update(
        "UTM1000061", Title='He said "it\'s ok"\n改行', Priority="高", AssignUserId="SA2345678"
    )
    assert answer.status == 200 and answer.error is None
    assert set(answer.result("UpdateTicket")) == {"RequestId"}
    ticket = await api.detail("UTM1000061")
    assert ticket["Title"] == 'He said "it\'s ok"\n改行'
    assert (ticket["Priority"], ticket["AssignUser"]) == ("高", "SA2345678")
    assert "AssignUserId" not in ticket and ticket == {
        "RequestId": ticket["RequestId"],
        **emu.tickets["UTM1000061"],
    }


async def test_blank_clears_an_optional_field(api: Api) -> None:
    """Writing "" to an optional field clears it."""
    assert (await api.detail("UTM1000061"))["NodeName"] != ""
    assert (await api.update("UTM1000061", NodeName="", Cause="")).error is None
    ticket = await api.detail("UTM1000061")
    assert (ticket["NodeName"], ticket["Cause"]) == ("", "")


async def test_close_with_approver(api: Api, emu: Emulator) -> None:
    """A master with authority closes a recovered incident when it names the approver."""
    answer = await api.update("UTM1000001", StateCode="クローズ", FinishApprovalUserId="SA1234567")
    assert answer.error is None
    assert emu.tickets["UTM1000001"]["StateCode"] == "クローズ"


async def test_closed_ticket_without_group_may_stay_groupless(api: Api, emu: Emulator) -> None:
    """The group rule spares a ticket whose state is クローズ."""
    closed = next(t for t in emu.tickets.values() if t["StateCode"] == "クローズ" and not t["SupportedGroup"])
    answer = await api.update(closed["TicketId"], Title="件名修正")
    assert answer.error is None


async def test_memo_list_absent_or_empty_on_both_kinds(api: Api) -> None:
    """CorrespondProcessList may be absent or [] on incidents and requests alike (D4)."""
    for ticket_id in ("UTM1000061", "UTM2000002"):
        assert (await api.update(ticket_id, CorrespondProcessList=REMOVE)).error is None
        assert (await api.update(ticket_id, CorrespondProcessList=[])).error is None


def _memos(ticket: dict[str, Any]) -> dict[str, str]:
    return {m[SEQ]: m[TEXT] for m in ticket["CorrespondProcessList"]}


async def test_memo_add_edit_delete(clock: ManualClock) -> None:
    """Memo operations apply in order; a new memo gets the highest seq ever + 1."""
    ticket = {
        **generate_tickets(5)[0],
        "CorrespondProcessList": [{SEQ: "1", TEXT: "一件目"}, {SEQ: "2", TEXT: "二件目"}],
    }
    ops = [
        {SEQ: "1", CLASS: "1", TEXT: "一件目（編集）"},
        {SEQ: "2", CLASS: "2", TEXT: ""},
        {SEQ: "", CLASS: "0", TEXT: "追加"},
    ]
    emu = Emulator([ticket], clock=clock)
    async with emu.running() as url, aiohttp.ClientSession() as session:
        api = Api(session, url, clock)
        assert (await api.update(ticket["TicketId"], CorrespondProcessList=ops)).error is None
        assert _memos(await api.detail(ticket["TicketId"])) == {"1": "一件目（編集）", "3": "追加"}


async def test_memo_seq_never_reused(api: Api) -> None:
    """Deleting the newest memo does not free its seq."""
    add = [{SEQ: "", CLASS: "0", TEXT: "新規"}]
    await api.update("UTM1000062", CorrespondProcessList=add)
    newest = max(_memos(await api.detail("UTM1000062")), key=int)
    await api.update("UTM1000062", CorrespondProcessList=[{SEQ: newest, CLASS: "2"}])
    await api.update("UTM1000062", CorrespondProcessList=add)
    assert max(_memos(await api.detail("UTM1000062")), key=int) == str(int(newest) + 1)


async def test_stamps_strictly_increase_within_one_second(api: Api, clock: ManualClock) -> None:
    """Two updates in the same clock second get different, increasing stamps."""
    await api.update("UTM1000061", Title="一回目")
    first = await api.detail("UTM1000061")
    await api.update("UTM1000061", Title="二回目")
    second = await api.detail("UTM1000061")
    for name in UPDATE_STAMPS:
        assert second[name] > first[name] >= "20250701090000"  # the clock's 00:00 UTC in JST


async def test_stamps_are_global_across_tickets(api: Api) -> None:
    """Updates to different tickets in one second still get distinct stamps."""
    await api.update("UTM1000061", Title="a")
    await api.update("UTM1000062", Title="b")
    one, two = await api.detail("UTM1000061"), await api.detail("UTM1000062")
    assert two["StateUpdateDate"] > one["StateUpdateDate"]


async def test_stamps_follow_the_clock(api: Api, clock: ManualClock) -> None:
    """Stamps are the clock's time in JST once the clock is ahead of every earlier stamp."""
    clock.advance(3600)
    await api.update("UTM1000061", Title="a")
    assert (await api.detail("UTM1000061"))["StateUpdateDate"] == "20250701100000"


async def test_blank_insert_stamp_is_set(api: Api, emu: Emulator) -> None:
    """An insert stamp still "" is set by the first update; the stale old body then conflicts."""
    ticket_id = next(t for t, v in emu.tickets.items() if v["CorrespondInsertDate"] == "")
    ticket = await api.detail(ticket_id)
    assert (await api.call("UpdateTicket", update_body(ticket))).error is None
    assert emu.tickets[ticket_id]["CorrespondInsertDate"] != ""
    answer = await api.call("UpdateTicket", update_body(ticket))
    assert answer.error is not None and answer.error["ErrorType"] == "EXCLUSION_FAILURE"


async def test_unchanged_seed_tickets_accepted(api: Api, emu: Emulator) -> None:
    """Every seed ticket read back and sent unchanged is a valid update (read-modify-write works)."""
    for ticket_id in list(emu.tickets):
        answer = await api.update(ticket_id)
        assert answer.error is None, (ticket_id, answer.error)


# uom-api.md §2.1 / seeds/UpdateTicket.txt §6, with its slips fixed: the second SummaryInsertDate is
# SummaryUpdateDate, no trailing commas, ManagementGroupId added (the table requires it), and the
# target ticket holds exactly these stamps.
MANUAL_SAMPLE = """{
    "ServiceCode" : "uom12345678",
    "TicketId":"UTM123456",
    "MasterID":"SA1234567",
    "TicketProcessType":"1",
    "StateInsertDate":"20221005143629",
    "StateUpdateDate":"20221005163649",
    "SummaryInsertDate":"20221005143630",
    "SummaryUpdateDate":"20221005143630",
    "CorrespondInsertDate":"20221005143630",
    "CorrespondUpdateDate":"",
    "Title":"titleTest",
    "StateCode":"クローズ",
    "SubStateCode":"クローズ",
    "Priority":"中",
    "SupportedGroup":"お客様",
    "AssignUserId":"SA1234567",
    "CorrespondLimitDate":"20220801000000",
    "FinishApprovalUserId":"SA1234567",
    "Importance":"中",
    "ManagementGroupId":"制限しない",
    "Category":"アプリ障害",
    "SubCategory":"",
    "RelatedSystem":"Asystem",
    "RelatedCI":"関連CI",
    "Impact":"無",
    "Influence":"一部顧客",
    "CauseClassification":"性能不足",
    "Cause":"XXのメモリが不足していたため",
    "ObstacleDetectionTime":"20220630132400",
    "FaultRecoveryDate":"20220630132500",
    "NodeName":"NODE_NAME",
    "EventId":"12345",
    "DetectionMessage":"XXのアラートを検知",
    "CorrespondStartDate":"20220630133000",
    "CorrespondFinishDate":"20220630135000",
    "CorrespondProcessList":[{"CorrespondProcess":"updateTest",
            "CorrespondProcessSeq":"1",
            "CorrespondProcessOperationClass":"1"},
            {"CorrespondProcess":"",
            "CorrespondProcessSeq":"2",
            "CorrespondProcessOperationClass":"2"},
            {"CorrespondProcess":"addTest",
            "CorrespondProcessSeq":"",
            "CorrespondProcessOperationClass":"0"}]
}"""


def _sample_target() -> dict[str, Any]:
    base = generate_tickets(5)[0]  # a recovered incident with every required field
    return {
        **base,
        "TicketId": "UTM123456",
        "StateInsertDate": "20221005143629",
        "StateUpdateDate": "20221005163649",
        "SummaryInsertDate": "20221005143630",
        "SummaryUpdateDate": "20221005143630",
        "CorrespondInsertDate": "20221005143630",
        "CorrespondUpdateDate": "",
        "CorrespondProcessList": [{SEQ: "1", TEXT: "調査開始"}, {SEQ: "2", TEXT: "一次切り分け"}],
    }


async def test_manual_sample_accepted(clock: ManualClock) -> None:
    """The manual's UpdateTicket sample, slips fixed, closes its ticket and applies its three memo ops."""
    emu = Emulator([_sample_target()], clock=clock)
    async with emu.running() as url, aiohttp.ClientSession() as session:
        api = Api(session, url, clock)
        answer = await api.call("UpdateTicket", None, raw=MANUAL_SAMPLE.encode())
        assert answer.error is None, answer.error
        ticket = await api.detail("UTM123456")
    assert (ticket["StateCode"], ticket["Title"], ticket["SubCategory"]) == ("クローズ", "titleTest", "")
    assert _memos(ticket) == {"1": "updateTest", "3": "addTest"}
    assert ticket["StateUpdateDate"] > "20221005163649"
    assert orjson.loads(MANUAL_SAMPLE)["CorrespondUpdateDate"] == ""
