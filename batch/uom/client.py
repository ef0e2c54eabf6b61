"""The signed UOM client: one async method per action over one pooled aiohttp session.

Every request is signed afresh (a new Expire per attempt, D16) and sent as `data=` bytes under
exactly the Content-Type that was signed (aiohttp's `json=` would send another one). aiohttp's
exceptions are translated in `_call` and nowhere else; they carry the request headers,
`Authorization` among them, so none of their text reaches our messages.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import aiohttp
import orjson
from yarl import URL

from batch.uom.credentials import Credentials
from batch.uom.errors import ClientSetupError, OutcomeUnknown, TransportError
from batch.uom.replies import MUTATING_ACTIONS, parse_reply
from batch.uom.signing import Expiry, Signer
from batch.uom.spec import (
    CONTENT_TYPE,
    LOCALE,
    MEMO_LIST,
    OFFICE_ID,
    TicketKind,
    action_path,
    update_fields,
)
from batch.uom.ticket import TicketDetail

Now = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class UomClient:
    """Talks to one UOM endpoint with one set of credentials; use as an async context manager."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        max_connections: int = 100,
        now: Now = _utcnow,
    ) -> None:
        credentials.warn_if_insecure()
        self.credentials = credentials
        self._now = now
        self._signer = Signer(
            access_key=credentials.access_key,
            secret_key=credentials.secret_key.reveal(),
            content_type=CONTENT_TYPE,
            method_name=credentials.sign_method,
        )
        self._expiry = Expiry(credentials.expire_s)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._routes: dict[str, tuple[str, URL]] = {}

    def __repr__(self) -> str:
        return f"UomClient(endpoint={self.credentials.endpoint!r})"

    def _route(self, action: str) -> tuple[str, URL]:
        """An action's path and absolute URL, built once (joining per request is not free)."""
        route = self._routes.get(action)
        if route is None:
            path = action_path(action)
            route = self._routes[action] = (path, _join(self.credentials.endpoint, path))
        return route

    async def __aenter__(self) -> Self:
        connector = aiohttp.TCPConnector(limit=self._max_connections, ssl=_ssl_setting(self.credentials))
        timeout = aiohttp.ClientTimeout(total=self.credentials.timeout_s)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            skip_auto_headers=("Content-Type",),
        )
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get_ticket_detail(self, ticket_id: str) -> TicketDetail:
        """GetTicketDetail: the ticket's fields, memos, relation and concurrency timestamps."""
        body = {
            "TicketId": ticket_id,
            "ServiceCode": self.credentials.service_code,
            "MasterID": self.credentials.master_id,
        }
        response = await self._call("GetTicketDetail", body)
        return TicketDetail.from_response(response)

    async def update_ticket(self, fields: Mapping[str, Any]) -> str:
        """UpdateTicket with `fields` (ServiceCode and MasterID default to ours); its RequestId."""
        body = {
            "ServiceCode": self.credentials.service_code,
            "MasterID": self.credentials.master_id,
            **fields,
        }
        _check_update_keys(body)
        response = await self._call("UpdateTicket", body)
        return str(response["RequestId"])

    async def release_incident_relate(
        self,
        master_incident_id: str,
        incident_ids: Sequence[str],
        *,
        service_code: str | None = None,
        master_id: str | None = None,
    ) -> str:
        """ReleaseIncidentRelate: detach the children from their master; its RequestId."""
        body = {
            "OfficeId": OFFICE_ID,
            "ServiceCode": service_code or self.credentials.service_code,
            "MasterId": master_id or self.credentials.master_id,
            "MasterIncidentId": master_incident_id,
            "IncidentId": list(incident_ids),
            "Locale": LOCALE,
        }
        response = await self._call("ReleaseIncidentRelate", body)
        return str(response["RequestId"])

    async def call(self, action: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Any action with a body exactly as given (no defaults, no key checks): the raw API."""
        return await self._call(action, body)

    async def _call(self, action: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Sign, send and read one request; the `<Action>Response` object or a UomError.

        The one place where aiohttp's exceptions become ours (in line: a coroutine of its own
        would be one more object per request, and one more frame each resume passes through).
        """
        if self._session is None:
            raise RuntimeError("UomClient used outside 'async with'")
        path, url = self._route(action)
        headers = self._signer.headers(path, self._expiry.after(self._now()))
        reply_started = False
        try:
            async with self._session.post(url, data=orjson.dumps(body), headers=headers) as resp:
                reply_started = True
                status, reply_headers, reply = resp.status, resp.headers, await resp.read()
        except aiohttp.ClientConnectorCertificateError as exc:
            raise ClientSetupError(_tls_message(self.credentials, exc)) from None
        except aiohttp.ClientConnectorError as exc:
            raise TransportError(
                f"{action}: cannot connect to {self.credentials.endpoint}: {exc.os_error}",
                action=action,
            ) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _lost(action, exc, reply_started) from None
        return parse_reply(action, status, reply_headers, reply, now=self._now)


def _join(endpoint: str, path: str) -> URL:
    return URL(endpoint.rstrip("/") + path, encoded=True)


def _lost(action: str, exc: BaseException, reply_started: bool) -> TransportError:
    """A failure after the request may have gone out: for an update, an unknown outcome."""
    what = "timed out" if isinstance(exc, TimeoutError | asyncio.TimeoutError) else type(exc).__name__
    cls = OutcomeUnknown if action in MUTATING_ACTIONS else TransportError
    stage = "reading the reply" if reply_started else "waiting for the reply"
    return cls(f"{action}: {what} while {stage}", action=action)


# By TicketProcessType as sent ('1', '2'): one lookup per update instead of an enum call.
_UPDATE_KEYS = {kind.value: frozenset(update_fields(kind)) | {MEMO_LIST} for kind in TicketKind}


def _check_update_keys(body: Mapping[str, Any]) -> None:
    """Never send a key outside the ticket kind's table: UOM refuses unknown parameters."""
    allowed = _UPDATE_KEYS.get(str(body.get("TicketProcessType", "")))
    if allowed is None:
        raise ValueError("UpdateTicket needs TicketProcessType '1' or '2'")
    if allowed.issuperset(body):
        return  # no set built for a request that is fine
    extra = body.keys() - allowed
    if extra:
        raise ValueError(f"UpdateTicket does not take {sorted(extra)} for this ticket kind")


def _ssl_setting(credentials: Credentials) -> ssl.SSLContext | bool:
    """TLS verification on by default, with an optional CA file; off only when asked."""
    if not credentials.verify_tls:
        return False
    if credentials.ca_file is None:
        return True  # aiohttp's own verifying context: the system's CAs, loaded once at its import
    context = ssl.create_default_context()
    try:
        context.load_verify_locations(cafile=str(credentials.ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise ClientSetupError(f"cannot load CA file {credentials.ca_file}: {exc}") from None
    return context


def _tls_message(credentials: Credentials, exc: aiohttp.ClientConnectorCertificateError) -> str:
    return (
        f"TLS certificate of {credentials.endpoint} could not be verified "
        f"({exc.certificate_error}); give the CA with --ca-file, or --insecure to skip the check"
    )
