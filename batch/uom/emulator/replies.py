"""What the emulator sends back: envelopes, RequestIds, and refusals as values.

Success: `{"<Action>Response": {"RequestId": ..., ...}}`. Error: `{"ErrorResponse": {"RequestId",
"ErrorType", "ErrorMessage"[, "ErrorDetail"]}}` where ErrorDetail maps the field to blame to a code
(the manual's sample: `{"TestParameter": "PARAMETER_ERROR"}`). Ticket actions answer errors with
HTTP 200 (manual, D14); the older actions with 400/500 and no ErrorDetail (RIR's table, D9).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from batch.uom.spec import ErrorType, Msg

JSON_TYPE: Final = "application/json; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Refusal:
    """The first rule a request breaks: ErrorType, exact message, and the field to blame."""

    error_type: ErrorType
    message: str
    field: str | None = None

    def detail(self) -> dict[str, str] | None:
        """ErrorDetail: the blamed field mapped to the ErrorType, or None."""
        return {self.field: str(self.error_type)} if self.field else None


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer. `body` None means an empty body."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    request_id: str | None = None
    error_type: str | None = None

    def encode(self) -> bytes:
        """The body as JSON bytes (empty when there is none)."""
        return b"" if self.body is None else orjson.dumps(self.body)


def new_request_id() -> str:
    """Five groups of 8 hex characters joined by `-` (the manual's `xxxxxxxx-…` shape)."""
    raw = secrets.token_hex(20)
    return "-".join(raw[i : i + 8] for i in range(0, 40, 8))


def success(action: str, payload: dict[str, Any] | None = None) -> Reply:
    """HTTP 200 with `<Action>Response`, RequestId first."""
    rid = new_request_id()
    return Reply(200, {f"{action}Response": {"RequestId": rid, **(payload or {})}}, request_id=rid)


def error(status: int, error_type: str, message: str, detail: dict[str, str] | None) -> Reply:
    """An `ErrorResponse` envelope; ErrorDetail only when given."""
    rid = new_request_id()
    inner: dict[str, Any] = {"RequestId": rid, "ErrorType": error_type, "ErrorMessage": message}
    if detail:
        inner["ErrorDetail"] = detail
    return Reply(status, {"ErrorResponse": inner}, request_id=rid, error_type=error_type)


def ticket_refusal(refusal: Refusal) -> Reply:
    """A ticket action's error: HTTP 200, with ErrorDetail when a field is to blame."""
    return error(200, str(refusal.error_type), refusal.message, refusal.detail())


def legacy_parameter_error() -> Reply:
    """An older action's parameter error: HTTP 400 `ParameterError` (D9), no ErrorDetail."""
    return error(400, ErrorType.LEGACY_PARAMETER_ERROR, Msg.LEGACY_PARAMETER, None)


def legacy_system_error() -> Reply:
    """An older action's system error: HTTP 500 `UOMWebSystemError` (D9)."""
    return error(500, ErrorType.LEGACY_WEB_SYSTEM_ERROR, Msg.LEGACY_WEB_SYSTEM, None)


def empty(status: int, headers: dict[str, str] | None = None) -> Reply:
    """A bodyless reply (404, 405, 429, a bare 500)."""
    return Reply(status, None, headers or {})


AUTH_REFUSAL: Final = Refusal(ErrorType.AUTH_FAILURE, Msg.AUTH)
SYSTEM_REFUSAL: Final = Refusal(ErrorType.SYSTEM_ERROR, Msg.SYSTEM)
