"""Overload signals from a real server slow the whole pool's meter; the usual trickle does not."""

from __future__ import annotations

import pytest

from batch.clock import SystemClock
from batch.engine.metered_api import MeteredApi
from batch.engine.rate_meter import RateMeter
from batch.uom.client import UomClient
from batch.uom.emulator import Emulator
from batch.uom.errors import RateLimited, ServerError

from .support import credentials_for

TICKET = "UTM1000001"


async def _calls(api: MeteredApi, n: int) -> None:
    for _ in range(n):
        await api.get_ticket_detail(TICKET)


async def test_burst_of_server_errors_halves_the_rate(emu: Emulator, url: str) -> None:
    """Three SYSTEM_ERRORs in a row within a second halve the meter's rate."""
    meter = RateMeter(200, SystemClock())
    async with UomClient(credentials_for(url)) as client:
        api = MeteredApi(client, meter, SystemClock())
        for _ in range(3):
            emu.script("GetTicketDetail", "system_error")
            with pytest.raises(ServerError):
                await _calls(api, 1)
    assert meter.effective_rate is not None and meter.effective_rate < 120  # halved to 100, recovering slowly


async def test_lone_errors_among_successes_do_not_slow_down(emu: Emulator, url: str) -> None:
    """Three errors among thirty good replies are the usual trickle: the rate stays."""
    meter = RateMeter(200, SystemClock())
    async with UomClient(credentials_for(url)) as client:
        api = MeteredApi(client, meter, SystemClock())
        await _calls(api, 30)
        for _ in range(3):
            emu.script("GetTicketDetail", "http500")
            with pytest.raises(ServerError):
                await _calls(api, 1)
    assert meter.effective_rate is not None and meter.effective_rate > 190


async def test_rate_limited_reply_slows_down_and_waits(emu: Emulator, url: str) -> None:
    """A 429 halves the rate, and nothing starts before its Retry-After (capped by the settings)."""
    meter = RateMeter(200, SystemClock())
    async with UomClient(credentials_for(url)) as client:
        api = MeteredApi(client, meter, SystemClock(), max_retry_after_s=0.0)
        emu.script("GetTicketDetail", "rate_limited")
        with pytest.raises(RateLimited):
            await _calls(api, 1)
        await _calls(api, 1)  # capped at 0 s: goes at once
    assert meter.effective_rate is not None and meter.effective_rate < 120  # halved to 100, recovering slowly
