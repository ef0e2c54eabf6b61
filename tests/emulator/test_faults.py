"""Fault injection: each knob, each scripted fault, the rate window, determinism (D12)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from batch.uom.emulator import Emulator, Faults, ManualClock

from .support import Answer, Api, release_body, update_body

TICKET = "UTM1000061"


def _detail_body(ticket_id: str = TICKET) -> dict[str, Any]:
    return {"TicketId": ticket_id, "ServiceCode": "uom12345678", "MasterID": "SA1234567"}


async def _detail(api: Api) -> Answer:
    return await api.call("GetTicketDetail", _detail_body())


async def test_rate_limit_sliding_window(api: Api, emu: Emulator, clock: ManualClock) -> None:
    """Above rate_limit_rps within one second: HTTP 429, Retry-After, empty body; later calls pass."""
    emu.faults.rate_limit_rps = 2
    assert [(await _detail(api)).status for _ in range(3)] == [200, 200, 429]
    refused = emu.log[-1]
    assert (refused.http_status, refused.fault, refused.request_id) == (429, "rate_limited", None)
    clock.advance(0.999)
    assert (await _detail(api)).status == 429
    clock.advance(0.001)
    assert [(await _detail(api)).status for _ in range(3)] == [200, 200, 429]


async def test_rate_limited_reply_shape(api: Api, emu: Emulator) -> None:
    """A 429 carries `Retry-After` in whole seconds (0 allowed) and no body."""
    emu.faults.rate_limit_rps = 1
    emu.faults.retry_after_s = 0
    await _detail(api)
    answer = await _detail(api)
    assert (answer.status, answer.body, answer.headers["Retry-After"]) == (429, None, "0")


async def test_refused_requests_do_not_fill_the_window(api: Api, emu: Emulator, clock: ManualClock) -> None:
    """429s are not counted as served, so the window reopens one second after the served ones."""
    emu.faults.rate_limit_rps = 1
    await _detail(api)
    clock.advance(0.5)
    assert (await _detail(api)).status == 429
    clock.advance(0.5)
    assert (await _detail(api)).status == 200


async def test_latency_uses_the_clock(api: Api, emu: Emulator, clock: ManualClock) -> None:
    """Latency (+ jitter within its bound) passes on the injected clock, not in real time."""
    emu.faults.latency_s, emu.faults.jitter_s = 2.5, 0.5
    for _ in range(5):
        start = clock.monotonic()
        assert (await _detail(api)).status == 200
        assert 2.5 <= clock.monotonic() - start <= 3.0
        assert emu.log[-1].at == start


async def test_system_error_rate(api: Api, emu: Emulator) -> None:
    """system_error_rate=1: ticket actions get HTTP 200 SYSTEM_ERROR, RIR gets HTTP 500."""
    emu.faults.system_error_rate = 1.0
    answer = await _detail(api)
    assert (answer.status, answer.error and answer.error["ErrorType"]) == (200, "SYSTEM_ERROR")
    answer = await api.call("ReleaseIncidentRelate", release_body("UTM1000091", [TICKET]))
    assert (answer.status, answer.error and answer.error["ErrorType"]) == (500, "UOMWebSystemError")
    assert emu.tickets[TICKET]["MasterTicketId"] == "UTM1000091"


async def test_http500_rate(api: Api, emu: Emulator) -> None:
    """http500_rate=1: HTTP 500 with an empty body."""
    emu.faults.http500_rate = 1.0
    answer = await _detail(api)
    assert (answer.status, answer.body) == (500, None)


async def test_drop_before_changes_nothing(api: Api, emu: Emulator) -> None:
    """drop_before: the client sees a disconnect and the ticket is unchanged."""
    body = update_body(await api.detail(TICKET), Title="落ちる前")
    emu.faults.drop_before_rate = 1.0
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.call("UpdateTicket", body)
    assert emu.tickets[TICKET]["Title"] != "落ちる前"
    assert (emu.log[-1].http_status, emu.log[-1].fault) == (0, "drop_before")


async def test_drop_after_applies_the_change(api: Api, emu: Emulator) -> None:
    """drop_after: the change lands, but the reply is lost (a disconnect)."""
    body = update_body(await api.detail(TICKET), Title="落ちた後")
    emu.faults.drop_after_rate = 1.0
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.call("UpdateTicket", body)
    assert emu.tickets[TICKET]["Title"] == "落ちた後"
    assert (emu.log[-1].http_status, emu.log[-1].fault, emu.log[-1].ticket_ids) == (
        0,
        "drop_after",
        (TICKET,),
    )


async def test_other_operator_rate(api: Api, emu: Emulator) -> None:
    """other_operator_rate=1: another operator saves first, so fresh stamps are stale: EXCLUSION_FAILURE."""
    body = update_body(await api.detail(TICKET), Title="競合")
    memos_before = len(emu.tickets[TICKET]["CorrespondProcessList"])
    emu.faults.other_operator_rate = 1.0
    answer = await api.call("UpdateTicket", body)
    assert answer.error is not None and answer.error["ErrorType"] == "EXCLUSION_FAILURE"
    memos = emu.tickets[TICKET]["CorrespondProcessList"]
    assert len(memos) == memos_before + 1 and "SA2345678" in memos[-1]["CorrespondProcess"]


async def test_other_operator_edit(api: Api, emu: Emulator) -> None:
    """other_operator_edit bumps the update stamps and adds the other operator's memo."""
    before = await api.detail(TICKET)
    emu.other_operator_edit(TICKET)
    after = await api.detail(TICKET)
    assert after["StateUpdateDate"] > before["StateUpdateDate"]
    assert len(after["CorrespondProcessList"]) == len(before["CorrespondProcessList"]) + 1
    with pytest.raises(KeyError):
        emu.other_operator_edit("UTM9999999")


async def test_scripted_faults_fifo_per_action(api: Api, emu: Emulator) -> None:
    """Scripted faults strike once each, in order, only on their own action."""
    emu.script("UpdateTicket", "http500")
    emu.script("UpdateTicket", "auth_failure")
    emu.script("GetTicketDetail", "rate_limited")
    assert (await _detail(api)).status == 429
    body = update_body(await api.detail(TICKET), Title="台本")
    assert (await api.call("UpdateTicket", body)).status == 500
    answer = await api.call("UpdateTicket", body)
    assert answer.error is not None and answer.error["ErrorType"] == "AUTH_FAILURE"
    assert (await api.call("UpdateTicket", body)).error is None
    assert [e.fault for e in emu.log] == ["rate_limited", None, "http500", "auth_failure", None]


@pytest.mark.parametrize(
    ("fault", "status", "error_type"),
    [
        ("system_error", 200, "SYSTEM_ERROR"),
        ("http500", 500, None),
        ("rate_limited", 429, None),
        ("auth_failure", 200, "AUTH_FAILURE"),
        ("other_operator", 200, "EXCLUSION_FAILURE"),
    ],
)
async def test_each_scripted_answer(
    api: Api, emu: Emulator, fault: str, status: int, error_type: str | None
) -> None:
    """Each answered scripted fault gives its status and ErrorType once, then calls succeed."""
    body = update_body(await api.detail(TICKET), Title="一度だけ")
    emu.script("UpdateTicket", fault)
    answer = await api.call("UpdateTicket", body)
    assert (answer.status, answer.error and answer.error["ErrorType"]) == (status, error_type)
    body = update_body(await api.detail(TICKET), Title="二度目")
    assert (await api.call("UpdateTicket", body)).error is None


@pytest.mark.parametrize(("fault", "landed"), [("drop_before", False), ("drop_after", True)])
async def test_each_scripted_drop(api: Api, emu: Emulator, fault: str, landed: bool) -> None:
    """A scripted drop disconnects once; drop_after's change has landed, drop_before's has not."""
    body = update_body(await api.detail(TICKET), Title="台本の切断")
    emu.script("UpdateTicket", fault)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.call("UpdateTicket", body)
    assert (emu.tickets[TICKET]["Title"] == "台本の切断") is landed
    assert (await _detail(api)).status == 200


async def test_knobs_change_at_run_time(api: Api, emu: Emulator) -> None:
    """Turning a knob on and off while serving takes effect on the next request."""
    emu.faults.http500_rate = 1.0
    assert (await _detail(api)).status == 500
    emu.faults.http500_rate = 0.0
    assert (await _detail(api)).status == 200


async def _error_types(seed: int, clock: ManualClock) -> list[str | None]:
    emu = Emulator(faults=Faults(seed=seed, system_error_rate=0.5), clock=clock)
    async with emu.running() as url, aiohttp.ClientSession() as session:
        api = Api(session, url, clock)
        return [(a.error or {}).get("ErrorType") for a in [await _detail(api) for _ in range(30)]]


async def test_faults_are_deterministic(clock: ManualClock) -> None:
    """The same seed gives the same faults for the same request sequence; another seed differs."""
    first, again = await _error_types(7, clock), await _error_types(7, clock)
    assert first == again and "SYSTEM_ERROR" in first and None in first
    assert await _error_types(8, clock) != first


def test_script_refuses_unknown_names(emu: Emulator) -> None:
    """Scripting an unknown fault or action is a ValueError, not a silent no-op."""
    with pytest.raises(ValueError, match="unknown fault"):
        emu.script("UpdateTicket", "explode")
    with pytest.raises(ValueError, match="unknown action"):
        emu.script("RegisterTicket", "http500")


def test_faults_off_by_default() -> None:
    """A fresh Faults injects nothing."""
    faults = Faults()
    assert [faults.draw() for _ in range(100)] == [None] * 100
    assert faults.delay_s() == 0.0
