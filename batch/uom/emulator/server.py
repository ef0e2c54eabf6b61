"""`Emulator`: the in-memory UOM server, started on a free loopback port inside the caller's loop.

emu = Emulator()                      # the seed tickets in samples/seed_tickets.json
async with emu.running() as url:      # "http://127.0.0.1:PORT" ("https://…" with ssl_context)
    ...                               # emu.tickets, emu.log, emu.faults, emu.script(...)
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from .accounts import DEFAULT_KEYS, MASTERS, OTHER_OPERATOR, SERVICE_CODE
from .actions import ACTION_NAMES, World
from .app import LogEntry, Service, build_app
from .clock import Clock, SystemClock
from .faults import Faults
from .seed import load_seed
from .state import Ticket, TicketStore


class Emulator:
    """A faithful in-memory UOM API (UpdateTicket, GetTicketDetail, ReleaseIncidentRelate)."""

    def __init__(
        self,
        tickets: Iterable[Mapping[str, Any]] | None = None,
        faults: Faults | None = None,
        clock: Clock | None = None,
        *,
        keys: Mapping[str, str] | None = None,
        masters: Mapping[str, bool] | None = None,
        service_code: str = SERVICE_CODE,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        store = TicketStore(load_seed() if tickets is None else tickets, self.clock)
        world = World(store, service_code, dict(MASTERS if masters is None else masters))
        self._service = Service(world, dict(keys or DEFAULT_KEYS), faults or Faults(), self.clock)
        self._runner: web.AppRunner | None = None
        self.url: str | None = None

    @property
    def tickets(self) -> dict[str, Ticket]:
        """The stored tickets by id, in GetTicketDetail's shape (D1); edit them freely in tests."""
        return self._service.world.store.tickets

    @property
    def log(self) -> list[LogEntry]:
        """Every request received, in arrival order."""
        return self._service.log

    @property
    def faults(self) -> Faults:
        """The fault knobs; change them at any time."""
        return self._service.faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        self._service.faults = value

    def script(self, action: str, fault: str) -> None:
        """Queue a one-shot fault for the next request of `action` (FIFO per action)."""
        if action not in ACTION_NAMES:
            raise ValueError(f"unknown action {action!r}; expected one of {sorted(ACTION_NAMES)}")
        self._service.script.push(action, fault)

    def other_operator_edit(self, ticket_id: str) -> None:
        """Save the ticket as another operator would: a memo of theirs, fresh stamps."""
        if ticket_id not in self.tickets:
            raise KeyError(ticket_id)
        self._service.world.store.other_operator_edit(ticket_id, OTHER_OPERATOR)

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None
    ) -> str:
        """Serve until `stop()`; returns the base URL (the real port when `port` is 0)."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        runner = web.AppRunner(build_app(self._service), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port, ssl_context=ssl_context).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.url = _url(runner, host, ssl_context is not None)
        return self.url

    async def stop(self) -> None:
        """Close the listening socket and every connection."""
        runner, self._runner, self.url = self._runner, None, None
        if runner is not None:
            await runner.cleanup()

    @asynccontextmanager
    async def running(
        self, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None
    ) -> AsyncIterator[str]:
        """Serve for the duration of the block; yields the base URL."""
        url = await self.start(host, port, ssl_context)
        try:
            yield url
        finally:
            await self.stop()


def _url(runner: web.AppRunner, host: str, tls: bool) -> str:
    port = runner.addresses[0][1]
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}"
