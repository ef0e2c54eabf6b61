"""Fixtures for the engine tests: the emulator (sample seed) on a free 127.0.0.1 port, with a gate."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from batch.uom.emulator import Emulator, Faults

from .support import Turnstile

LATENCY_S = 1e-6  # any latency at all makes the emulator call the gate's `sleep` for every request


@pytest.fixture
def gate() -> Turnstile:
    """The emulator's clock, through which the test may act on or hold arriving requests."""
    return Turnstile()


@pytest.fixture
async def emu(gate: Turnstile) -> AsyncIterator[Emulator]:
    """The emulator with the sample seed tickets, serving on 127.0.0.1 (see `emu.url`)."""
    emulator = Emulator(clock=gate, faults=Faults(latency_s=LATENCY_S))
    async with emulator.running():
        try:
            yield emulator
        finally:
            gate.release()  # a failed test must not leave a handler waiting at the gate


@pytest.fixture
def url(emu: Emulator) -> str:
    """The running emulator's base URL."""
    assert emu.url is not None
    return emu.url
