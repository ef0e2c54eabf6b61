"""Fixtures for the client tests: the emulator on a free 127.0.0.1 port and a client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from batch.uom.client import UomClient
from batch.uom.credentials import Credentials
from batch.uom.credentials import credentials_for as client_credentials
from batch.uom.emulator import DEMO_CREDENTIALS, Emulator, ManualClock
from batch.uom.emulator import Credentials as EmuCredentials


def credentials_for(url: str, emu_creds: EmuCredentials = DEMO_CREDENTIALS, **extra: Any) -> Credentials:
    """Client credentials for one of the emulator's key pairs."""
    return client_credentials(url, emu_creds, **extra)


@pytest.fixture
def clock() -> ManualClock:
    """The emulator's clock, shared with the client so Expire is judged consistently."""
    return ManualClock()


@pytest.fixture
async def emu(clock: ManualClock) -> AsyncIterator[Emulator]:
    """The emulator with the sample seed, serving on 127.0.0.1."""
    emulator = Emulator(clock=clock)
    async with emulator.running():
        yield emulator


@pytest.fixture
async def client(emu: Emulator, clock: ManualClock) -> AsyncIterator[UomClient]:
    """A client with the demo credentials, signing with the emulator's clock."""
    async with UomClient(credentials_for(emu.url), now=clock.now) as c:
        yield c
