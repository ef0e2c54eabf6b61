"""Fixtures: a hand-driven clock, an emulator on a free loopback port, and a signed caller."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from batch.uom.emulator import Emulator, ManualClock

from .support import Api


@pytest.fixture
def clock() -> ManualClock:
    """A clock that moves only when the test says so."""
    return ManualClock()


@pytest.fixture
def emu(clock: ManualClock) -> Emulator:
    """The emulator with the sample seed tickets, not yet serving."""
    return Emulator(clock=clock)


@pytest.fixture
async def api(emu: Emulator, clock: ManualClock) -> AsyncIterator[Api]:
    """The emulator serving on 127.0.0.1, and a signed caller with its own session."""
    async with emu.running() as url, aiohttp.ClientSession() as session:
        yield Api(session, url, clock)
