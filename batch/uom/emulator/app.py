"""The HTTP side: one aiohttp handler that takes every request through the same steps.

Steps, in order (each may end the request):
 1. route: `/r/{version}/{Action}.json` with the action's own version, else 404, empty body;
    a method other than POST → 405, empty body
 2. rate window full → 429 + Retry-After, empty body (not counted as served)
 3. the request's fault: the next scripted one for the action, else a random draw; a scripted
    `rate_limited` → 429 as in 2
 4. latency (+ jitter)
 5. faults that strike before any work: drop_before, http500, system_error
 6. signature (`auth`), or a scripted `auth_failure` → the action's auth error (D5)
 7. body: Content-Type `application/json` (no charset, or charset=utf-8) and a UTF-8 JSON
    object, else the action's parameter error
 8. other_operator (UpdateTicket only): another operator saves the ticket first
 9. the action: shape → account → ticket → business rules → concurrency → apply (`actions`)
10. drop_after: the change stays applied, the reply is lost
Every request, refused or not, ends as one LogEntry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from aiohttp import web

from batch.uom.spec import ErrorType, Msg

from . import auth
from . import faults as fk
from .accounts import OTHER_OPERATOR
from .actions import ACTIONS, Action, World, ticket_ids
from .clock import Clock
from .faults import Faults, RateWindow, Script
from .replies import (
    AUTH_REFUSAL,
    JSON_TYPE,
    SYSTEM_REFUSAL,
    Refusal,
    Reply,
    empty,
    legacy_parameter_error,
    legacy_system_error,
    ticket_refusal,
)

DROPPED: Final = 0  # LogEntry.http_status when the connection was closed without a reply
MAX_BODY_BYTES: Final = 16 * 1024 * 1024  # four 65535-byte fields escaped as \uXXXX fit easily


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One request as the emulator saw it; `at` is the clock's monotonic time on arrival."""

    at: float
    action: str
    http_status: int
    error_type: str | None
    ticket_ids: tuple[str, ...]
    request_id: str | None
    fault: str | None = None


@dataclass
class Exchange:
    """What is known about the request in flight, for its log entry."""

    at: float
    action: str
    fault: str | None = None
    ticket_ids: tuple[str, ...] = ()


@dataclass
class Service:
    """The emulator's behaviour behind HTTP: state, keys, faults, clock and the request log."""

    world: World
    keys: Mapping[str, str]
    faults: Faults
    clock: Clock
    script: Script = field(default_factory=Script)
    log: list[LogEntry] = field(default_factory=list)
    window: RateWindow = field(default_factory=RateWindow)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The aiohttp handler for every path."""
        at = self.clock.monotonic()
        action = ACTIONS.get(request.path)
        if action is None:
            return self._answer(Exchange(at, _name(request.path)), empty(404))
        ex = Exchange(at, action.name)
        if request.method != "POST":
            return self._answer(ex, empty(405))
        return await self._admitted(request, action, ex)

    async def _admitted(self, request: web.Request, action: Action, ex: Exchange) -> web.StreamResponse:
        if self.window.full(ex.at, self.faults.rate_limit_rps):
            ex.fault = fk.RATE_LIMITED
            return self._answer(ex, self._too_many())
        ex.fault = self.script.pop(action.name) or self.faults.draw()
        if ex.fault == fk.RATE_LIMITED:
            return self._answer(ex, self._too_many())
        self.window.count(ex.at)
        await self._delay()
        if ex.fault == fk.DROP_BEFORE:
            return self._drop(request, ex)
        reply = self._early_fault(action, ex.fault) or self._auth(request, action, ex.fault)
        reply = reply or await self._process(request, action, ex)
        if ex.fault == fk.DROP_AFTER:  # the work is done; only the reply is lost
            return self._drop(request, ex, reply)
        return self._answer(ex, reply)

    async def _process(self, request: web.Request, action: Action, ex: Exchange) -> Reply:
        body = await _read_json(request)
        if body is None:
            return _refuse(action, Refusal(ErrorType.PARAMETER_ERROR, Msg.INVALID))
        ex.ticket_ids = ticket_ids(body)
        if ex.fault == fk.OTHER_OPERATOR:
            self._other_operator(action, body)
        return action.handle(self.world, body)

    def _early_fault(self, action: Action, fault: str | None) -> Reply | None:
        if fault == fk.HTTP500:
            return empty(500)
        if fault == fk.SYSTEM_ERROR:
            return legacy_system_error() if action.legacy else ticket_refusal(SYSTEM_REFUSAL)
        return None

    def _auth(self, request: web.Request, action: Action, fault: str | None) -> Reply | None:
        now = self.clock.now()
        problem = auth.check(request.method, request.headers.items(), request.path, self.keys, now)
        if problem is None and fault != fk.AUTH_FAILURE:
            return None
        return _refuse(action, AUTH_REFUSAL)

    def _other_operator(self, action: Action, body: dict[str, Any]) -> None:
        ticket_id = body.get("TicketId")
        if action.name == "UpdateTicket" and ticket_id in self.world.store.tickets:
            self.world.store.other_operator_edit(ticket_id, OTHER_OPERATOR)

    async def _delay(self) -> None:
        seconds = self.faults.delay_s()
        if seconds > 0:
            sleep: Callable[[float], Awaitable[None]] = getattr(self.clock, "sleep", asyncio.sleep)
            await sleep(seconds)

    def _too_many(self) -> Reply:
        return empty(429, {"Retry-After": str(int(self.faults.retry_after_s))})

    def _answer(self, ex: Exchange, reply: Reply) -> web.Response:
        self._record(ex, reply.status, reply)
        headers = dict(reply.headers)
        if reply.body is not None:
            headers["Content-Type"] = JSON_TYPE
        return web.Response(status=reply.status, body=reply.encode(), headers=headers)

    def _drop(self, request: web.Request, ex: Exchange, reply: Reply | None = None) -> web.Response:
        """Close the connection without answering; the client sees a disconnect."""
        self._record(ex, DROPPED, reply)
        if request.transport is not None:
            request.transport.close()
        return web.Response()  # never reaches the client: the transport is closed

    def _record(self, ex: Exchange, status: int, reply: Reply | None) -> None:
        error_type = reply.error_type if reply else None
        request_id = reply.request_id if reply else None
        self.log.append(LogEntry(ex.at, ex.action, status, error_type, ex.ticket_ids, request_id, ex.fault))


def _refuse(action: Action, refusal: Refusal) -> Reply:
    """A refusal in the action's own style (D5, D9, D14)."""
    return legacy_parameter_error() if action.legacy else ticket_refusal(refusal)


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1].removesuffix(".json")


def json_content_type(value: str) -> bool:
    """`application/json`, bare or with charset UTF-8 (case and spacing as HTTP allows).

    JSON's media type has no charset parameter (RFC 8259) and IIJ's own Go client sends none;
    the manual's samples send `charset=utf-8`. Any other media type or charset is refused.
    """
    media, *params = (part.strip() for part in value.split(";"))
    if media.lower() != "application/json":
        return False
    pairs = [p.split("=", 1) for p in params if p]
    if any(len(pair) != 2 for pair in pairs):
        return False
    named = [(k.strip().lower(), v.strip().strip('"').lower()) for k, v in pairs]
    return named in ([], [("charset", "utf-8")])


async def _read_json(request: web.Request) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one (or not declared as one)."""
    if not json_content_type(request.headers.get("Content-Type", "")):
        return None
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def build_app(service: Service) -> web.Application:
    """An aiohttp application routing every path to the service."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_route("*", "/{tail:.*}", service.handle)
    return app
