"""Reading UOM's replies: success or failure is decided from the body, whatever the HTTP status.

Pure functions over (action, status, headers, body bytes), so every reply shape is testable without
a server. UpdateTicket's errors come with HTTP 200 and ReleaseIncidentRelate's with 400/500 (§3.2);
a bodyless HTTP error (P2-ERR) and a non-JSON body become typed errors too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import orjson

from batch.uom.errors import (
    AuthFailure,
    OutcomeUnknown,
    ProtocolError,
    RateLimited,
    Refused,
    ServerError,
    TransportError,
    UomError,
    class_for,
    normalise_error_type,
)

MUTATING_ACTIONS = frozenset({"UpdateTicket", "ReleaseIncidentRelate", "RegisterTicket"})


def parse_reply(
    action: str, status: int, headers: Mapping[str, str], body: bytes, *, now: Callable[[], datetime]
) -> dict[str, Any]:
    """The `<Action>Response` object of a successful reply; raises the matching UomError otherwise.

    `now` is asked only for a 429's Retry-After date (a clock read per reply is not free).
    """
    document = _decode(body)
    if isinstance(document, dict) and "ErrorResponse" in document:
        raise _error_from(action, status, document["ErrorResponse"])
    if status == 429:
        raise RateLimited(
            f"{action}: HTTP 429, rate limited",
            retry_after_s=retry_after_s(headers.get("Retry-After"), now()),
            action=action,
            http_status=status,
        )
    if status != 200 or not isinstance(document, dict):
        raise _bare_status_error(action, status, document is not None)
    return _success_object(action, document)


def _decode(body: bytes) -> Any:
    """The JSON document, or None when the body is empty or not JSON (orjson refuses both)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _error_from(action: str, status: int, err: Any) -> UomError:
    """The exception for an ErrorResponse object (strict: its three keys must be there)."""
    if not isinstance(err, dict) or not {"RequestId", "ErrorType", "ErrorMessage"} <= err.keys():
        return ProtocolError(
            f"{action}: malformed ErrorResponse (HTTP {status})", action=action, http_status=status
        )
    error_type = normalise_error_type(str(err["ErrorType"]))
    cls = class_for(error_type, status)
    message = f"{action}: {error_type}: {err['ErrorMessage']}"
    if err.get("ErrorDetail"):
        message += f" {_detail_text(err['ErrorDetail'])}"
    return cls(
        message,
        action=action,
        error_type=error_type,
        error_message=str(err["ErrorMessage"]),
        error_detail=err.get("ErrorDetail"),
        request_id=str(err["RequestId"]),
        http_status=status,
    )


def _detail_text(detail: Any) -> str:
    """ErrorDetail as compact text for messages and ledgers."""
    if isinstance(detail, str):
        return detail
    return orjson.dumps(detail).decode("utf-8")


def _bare_status_error(action: str, status: int, had_json: bool) -> UomError:
    """An error judged by the HTTP status alone: no ErrorResponse came with it."""
    what = "an unexpected JSON body" if had_json else "no usable body"
    message = f"{action}: HTTP {status} with {what}"
    if status in (401, 403):
        return AuthFailure(message, action=action, http_status=status)
    if status >= 500:
        return ServerError(message, action=action, http_status=status)
    if status == 200:
        # A 200 we cannot read: for an update the change may well have been made.
        cls = OutcomeUnknown if action in MUTATING_ACTIONS else TransportError
        return cls(message, action=action, http_status=status)
    return Refused(message + " (check the endpoint URL)", action=action, http_status=status)


def _success_object(action: str, document: dict[str, Any]) -> dict[str, Any]:
    """The `<Action>Response` object with its RequestId (D14: `Result.RequestId` accepted too)."""
    response = document.get(f"{action}Response")
    if not isinstance(response, dict):
        raise ProtocolError(
            f"{action}: reply has neither {action}Response nor ErrorResponse", action=action, http_status=200
        )
    result = response.get("Result")
    if "RequestId" not in response and isinstance(result, dict) and "RequestId" in result:
        response = {**response, "RequestId": result["RequestId"]}
    if not isinstance(response.get("RequestId"), str):
        raise ProtocolError(f"{action}: {action}Response has no RequestId", action=action, http_status=200)
    return response


def retry_after_s(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if absent."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
