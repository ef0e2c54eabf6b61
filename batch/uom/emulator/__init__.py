"""A faithful in-memory UOM API server for tests, demos and benchmarks (never the real service).

Serves GetTicketDetail and UpdateTicket (20221221) and ReleaseIncidentRelate (20161003) over
aiohttp.web, following the manual and the project's decisions D1–D17 (uom-api.md): signature v2,
every UpdateTicket error of the manual's table, concurrency stamps, close authority, relations,
plus a configurable rate limit and fault injection (the emulator's own choices, D12).

    from batch.uom.emulator import Emulator, Faults, DEMO_CREDENTIALS, generate_tickets, load_seed

Modules: `server` (Emulator), `app` (HTTP steps, log), `auth` (signature), `rules` (body shape),
`business` (account, ticket, business rules, stamps), `actions` (the three actions), `state`
(tickets, memos, stamps), `faults`, `replies` (envelopes), `seed` (seed tickets), `clock`, `accounts`.
"""

from __future__ import annotations

from .accounts import DEMO_CREDENTIALS, SECOND_CREDENTIALS, Credentials
from .app import LogEntry
from .clock import Clock, ManualClock, SystemClock
from .faults import FAULT_KINDS, Faults
from .seed import generate_tickets, load_seed, write_seed
from .server import Emulator

__all__ = [
    "DEMO_CREDENTIALS",
    "FAULT_KINDS",
    "SECOND_CREDENTIALS",
    "Clock",
    "Credentials",
    "Emulator",
    "Faults",
    "LogEntry",
    "ManualClock",
    "SystemClock",
    "generate_tickets",
    "load_seed",
    "write_seed",
]
