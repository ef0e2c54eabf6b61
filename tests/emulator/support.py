"""A raw signed caller for the emulator tests: builds exactly the request a test wants, good or bad.

Deliberately not the project's client (batch.uom.client): these tests must be able to send what a
correct client never would (bad signatures, unknown keys, broken bodies).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
import orjson

from batch.uom import spec
from batch.uom.emulator import DEMO_CREDENTIALS, Credentials, ManualClock
from batch.uom.signing import (
    H_EXPIRE,
    H_METHOD,
    H_VERSION,
    HASHES,
    expire_after,
    signature,
    string_to_sign,
)

REMOVE: Final = object()  # in `changes`: drop the key from the body
IDENTITY: Final = ("ServiceCode", "MasterID", "TicketId", "TicketProcessType")


@dataclass(frozen=True)
class Answer:
    """What came back: status, decoded JSON body (None when empty), headers."""

    status: int
    body: dict[str, Any] | None
    headers: Mapping[str, str]

    @property
    def error(self) -> dict[str, Any] | None:
        """The ErrorResponse object, if any."""
        return None if self.body is None else self.body.get("ErrorResponse")

    def result(self, action: str) -> dict[str, Any]:
        """The `<Action>Response` object; fails the test when it is absent."""
        assert self.body is not None and f"{action}Response" in self.body, self.body
        return self.body[f"{action}Response"]


def sign(
    path: str,
    *,
    creds: Credentials = DEMO_CREDENTIALS,
    expire: str,
    content_type: str | None = spec.CONTENT_TYPE,
    method_name: str = "HmacSHA256",
    version: str = "2",
    http_method: str = "POST",
) -> dict[str, str]:
    """Headers signed over exactly these values (an unsupported method is signed with SHA-256)."""
    headers = {H_EXPIRE: expire, H_METHOD: method_name, H_VERSION: version}
    if content_type is not None:
        headers["Content-Type"] = content_type
    digest = method_name if method_name in HASHES else "HmacSHA256"
    sig = signature(creds.secret_key, digest, string_to_sign(http_method, headers, path))
    headers["Authorization"] = f"IIJAPI {creds.access_key}:{sig}"
    return headers


class Api:
    """Signed calls to a running emulator, with the test's clock for Expire."""

    def __init__(self, session: aiohttp.ClientSession, url: str, clock: ManualClock) -> None:
        self.session, self.url, self.clock = session, url, clock

    def headers(self, action: str, **options: Any) -> dict[str, str]:
        """Correctly signed headers for `action` (options as for `sign`)."""
        options.setdefault("expire", expire_after(self.clock.now()))
        return sign(spec.action_path(action), **options)

    async def call(
        self,
        action: str,
        body: Any,
        *,
        headers: Mapping[str, str] | None = None,
        raw: bytes | None = None,
        path: str | None = None,
        method: str = "POST",
    ) -> Answer:
        """Send `body` (JSON-encoded unless `raw`) with `headers` (default: signed for `action`)."""
        url = self.url + (path or spec.action_path(action))
        data = orjson.dumps(body) if raw is None else raw
        sent = dict(headers) if headers is not None else self.headers(action)
        # Without a Content-Type of ours, aiohttp would add application/octet-stream.
        skip = () if any(k.lower() == "content-type" for k in sent) else ("Content-Type",)
        request = self.session.request(method, url, data=data, headers=sent, skip_auto_headers=skip)
        async with request as response:
            content = await response.read()
            decoded = orjson.loads(content) if content else None
            return Answer(response.status, decoded, dict(response.headers))

    async def detail(self, ticket_id: str, creds: Credentials = DEMO_CREDENTIALS) -> dict[str, Any]:
        """GetTicketDetail's payload for a ticket (must succeed)."""
        body = {"TicketId": ticket_id, "ServiceCode": creds.service_code, "MasterID": creds.master_id}
        return (await self.call("GetTicketDetail", body)).result("GetTicketDetail")

    async def update(self, ticket_id: str, **changes: Any) -> Answer:
        """Fetch the ticket, merge `changes` into an UpdateTicket body, send it."""
        return await self.call("UpdateTicket", update_body(await self.detail(ticket_id), **changes))


def update_body(ticket: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """A valid UpdateTicket body from a GetTicketDetail payload, then `changes` (REMOVE drops)."""
    kind = spec.TicketKind(ticket["TicketProcessType"])
    body: dict[str, Any] = {
        "ServiceCode": DEMO_CREDENTIALS.service_code,
        "MasterID": DEMO_CREDENTIALS.master_id,
    }
    for name, field in spec.update_fields(kind).items():
        value = ticket.get("AssignUser" if name == "AssignUserId" else name, "")
        if name not in body and (value != "" or field.required):
            body[name] = value
    state = changes.get("StateCode", ticket["StateCode"])
    if state not in spec.CLOSING_STATES:
        body.pop("FinishApprovalUserId", None)  # D3: only with a closing state
    for name, value in changes.items():
        if value is REMOVE:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def release_body(master: str, children: list[str], **changes: Any) -> dict[str, Any]:
    """A ReleaseIncidentRelate body for the demo account."""
    body: dict[str, Any] = {
        "OfficeId": spec.OFFICE_ID,
        "ServiceCode": DEMO_CREDENTIALS.service_code,
        "MasterId": DEMO_CREDENTIALS.master_id,
        "MasterIncidentId": master,
        "IncidentId": children,
        "Locale": spec.LOCALE,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not REMOVE}
